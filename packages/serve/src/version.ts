export const SERVE_VERSION = '0.1.0';
