import { diagnosticsChannel } from '@ferry/core';

/** `ferry:transport:listener:error`: a listening server failed after it started listening. */
export interface ListenerErrorMessage {
  /** The listener's address, as `formatAddress` writes it. */
  readonly listener: string;
  readonly error: Error;
}

/** The channels `@ferry/transport` publishes on. */
export const transportChannels = {
  listenerError: diagnosticsChannel<ListenerErrorMessage>('ferry:transport:listener:error'),
} as const;
