export type {
  AdminHistory,
  AdminSample,
  AdminStatus,
  ModelStatus,
  SamplePoint,
  SeriesHistory,
  TenantStatus,
} from './admin-views.js';
export type {
  AdminServer,
  AdminServerOptions,
  AdminServerStatus,
  AdminTenantStatus,
} from './create-admin-server.js';
export { ADMIN_DEFAULTS, createAdminServer } from './create-admin-server.js';
export type { MonitoredAgent } from './create-agent-monitor.js';
export type { LastError } from './last-errors.js';
export type { ListenerSource, PodRef, SkippedListener, TenantOrigin } from './listener-source.js';
