export { createNoopBackend } from './create-noop-backend.js';
