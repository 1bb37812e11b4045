import { DevicePlugin, Registration } from './gen/v1beta1/api_pb.js';
import { grpcService } from './grpc-service.js';

/** The kubelet device plugin API version this package speaks (`RegisterRequest.version`). */
export const DEVICE_PLUGIN_API_VERSION = 'v1beta1';
/** The kubelet's registration socket, in the plugin directory. */
export const KUBELET_SOCKET = 'kubelet.sock';
/** Where the kubelet looks for device plugin sockets. */
export const DEFAULT_PLUGIN_DIR = '/var/lib/kubelet/device-plugins';

/** `v1beta1.Registration`, served by the kubelet. */
export const registrationService = grpcService(Registration);
/** `v1beta1.DevicePlugin`, served by each plugin. */
export const devicePluginService = grpcService(DevicePlugin);
