export type { AdminServer, AdminServerOptions } from './create-admin-server.js';
export { ADMIN_DEFAULTS, createAdminServer } from './create-admin-server.js';
export type {
  AdminHistory,
  AdminSample,
  AdminStatus,
  ModelStatus,
  MonitoredAgent,
  SamplePoint,
  SeriesHistory,
  TenantStatus,
} from './create-agent-monitor.js';
