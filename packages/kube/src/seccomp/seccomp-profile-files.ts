import {
  allowVsock,
  renderSeccompProfile,
  type SeccompTargetArch,
  type SeccompTemplate,
} from './render-seccomp-profile.js';

/** The architectures Firecracker runs on, each with its own Localhost profile file. */
export const VSOCK_PROFILE_ARCHES: readonly SeccompTargetArch[] = ['amd64', 'arm64'];

/**
 * The vsock seccomp profiles shipped in `deploy/`, path (from the repository root) → file text: the
 * template resolved for a default container on each architecture, plus AF_VSOCK.
 */
export function seccompProfileFiles(template: SeccompTemplate): Record<string, string> {
  const files: Record<string, string> = {};
  for (const arch of VSOCK_PROFILE_ARCHES) {
    const profile = allowVsock(renderSeccompProfile(template, { arch }));
    files[`deploy/base/seccomp/ferry-vsock-${arch}.json`] = `${JSON.stringify(profile, null, 2)}\n`;
  }
  return files;
}
