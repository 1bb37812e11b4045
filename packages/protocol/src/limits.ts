/** Frame limit an agent applies by default: room for a PP-OCR recognition model upload (~11 MB). */
export const DEFAULT_AGENT_MAX_FRAME_BYTES = 16 * 1024 * 1024;

/** Frame limit a client applies by default to what it sends and receives. */
export const DEFAULT_CLIENT_MAX_FRAME_BYTES = 64 * 1024 * 1024;
