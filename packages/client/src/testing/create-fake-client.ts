import { Code, FerryError } from '@ferry/core';
import type { Client } from '../types.js';

/** The calls of a {@link Client}, each of which a test may give a fake implementation of. */
export type ClientMethods = Omit<Client, 'address' | typeof Symbol.asyncDispose>;

export interface FakeClientOptions extends Partial<ClientMethods> {
  /** Default `memory:fake`. */
  readonly address?: string;
}

/**
 * A {@link Client} for tests of code that uses one (the serve function, its model registry): the methods a
 * test gives run as given; any other call rejects with UNIMPLEMENTED `NOT_FAKED`, so a test cannot pass by
 * calling something it did not mean to. `close()` and `destroy()` do nothing unless given. Every method is
 * listed here by name: when `Client` gains one, this file stops compiling until it is added.
 */
export function createFakeClient(options: FakeClientOptions = {}): Client {
  const missing = (name: keyof ClientMethods) => async (): Promise<never> => {
    throw new FerryError(Code.UNIMPLEMENTED, `The fake client was not given ${name}()`, { reason: 'NOT_FAKED' });
  };
  const client: Client = {
    address: options.address ?? 'memory:fake',
    serverInfo: options.serverInfo ?? missing('serverInfo'),
    noop: options.noop ?? missing('noop'),
    createSession: options.createSession ?? missing('createSession'),
    destroySession: options.destroySession ?? missing('destroySession'),
    registerModel: options.registerModel ?? missing('registerModel'),
    unregisterModel: options.unregisterModel ?? missing('unregisterModel'),
    modelMetadata: options.modelMetadata ?? missing('modelMetadata'),
    infer: options.infer ?? missing('infer'),
    listModels: options.listModels ?? missing('listModels'),
    describeModel: options.describeModel ?? missing('describeModel'),
    loadModel: options.loadModel ?? missing('loadModel'),
    unloadModel: options.unloadModel ?? missing('unloadModel'),
    classify: options.classify ?? missing('classify'),
    detect: options.detect ?? missing('detect'),
    ocr: options.ocr ?? missing('ocr'),
    close: options.close ?? (async () => {}),
    destroy: options.destroy ?? (() => {}),
    [Symbol.asyncDispose]: () => client.close(),
  };
  return client;
}
