import type { AddressInfo } from 'node:net';
import multipart from '@fastify/multipart';
import type { CallOptions, Client } from '@ferry/client';
import { Code, FerryError } from '@ferry/core';
import { type FastifyReply, type FastifyRequest, fastify } from 'fastify';
import { checkInferRequest, oipShape } from './check-infer-request.js';
import { encodeInferResponse } from './encode-infer-response.js';
import { toHttpError } from './http-error.js';
import { createModelRegistry } from './model-registry.js';
import { oipDatatype } from './oip-datatype.js';
import { parseInferRequest } from './parse-infer-request.js';
import { SERVE_VERSION } from './version.js';

export interface ServeLimits {
  /** Largest request body: an inference request, or an image (raw or one multipart file). Default 16 MiB; over it, 413. */
  readonly maxBodyBytes: number;
  /** Deadline for one request: receiving it and every agent call it makes. Default 60 s; past it, 504. */
  readonly requestTimeoutMs: number;
  /** Deadline for the agent's answer to the readiness probe. Default 2 s; past it, 503. */
  readonly readyTimeoutMs: number;
  /** Largest `topK` a `/classify` request may ask for. Default 1000; over it, 400. */
  readonly maxTopK: number;
}

export const DEFAULT_SERVE_LIMITS: ServeLimits = {
  maxBodyBytes: 16 * 1024 * 1024,
  requestTimeoutMs: 60_000,
  readyTimeoutMs: 2_000,
  maxTopK: 1000,
};

export interface ServeOptions {
  /** The agent connection. The caller owns it: close it after `serve.close()`. */
  readonly client: Client;
  /** Names of the agent's repository models this function serves; every repository model when absent. */
  readonly models?: readonly string[];
  readonly limits?: Partial<ServeLimits>;
  /** Server name in `GET /v2`. Default `ferry`. */
  readonly name?: string;
}

export interface ServeListenOptions {
  /** Default 8080; 0 picks a free port. */
  readonly port?: number;
  /** Default `127.0.0.1`; `0.0.0.0` in a container. */
  readonly host?: string;
}

export interface ServeAddress {
  /** `http://127.0.0.1:8080` */
  readonly url: string;
  readonly host: string;
  readonly port: number;
}

export interface Serve extends AsyncDisposable {
  readonly limits: ServeLimits;
  /** Starts accepting HTTP requests. */
  listen(options?: ServeListenOptions): Promise<ServeAddress>;
  /** Stops accepting, answers the requests in flight, then destroys this function's agent session. Idempotent. */
  close(): Promise<void>;
  /** Drops every HTTP connection now. Idempotent. */
  destroy(): Promise<void>;
}

/** The only version of a repository model: Ferry models are content-addressed, a name has one at a time. */
const MODEL_VERSION = '1';
const PLATFORM = 'onnxruntime_onnx';

function resolveLimits(limits: Partial<ServeLimits> = {}): ServeLimits {
  const resolved = { ...DEFAULT_SERVE_LIMITS, ...limits };
  for (const [key, value] of Object.entries(resolved)) {
    if (!Number.isSafeInteger(value) || value <= 0) throw new RangeError(`limits.${key} must be a positive integer`);
  }
  return resolved;
}

function notFound(message: string, reason: string): FerryError {
  return new FerryError(Code.NOT_FOUND, message, { reason });
}

function invalid(message: string, reason: string): FerryError {
  return new FerryError(Code.INVALID_ARGUMENT, message, { reason });
}

interface ModelParams {
  readonly name: string;
  readonly version?: string;
}

function queryString(request: FastifyRequest, key: string): string | undefined {
  const query = request.query as Record<string, unknown>;
  const value = Object.hasOwn(query, key) ? query[key] : undefined;
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw invalid(`Query parameter "${key}" must be given once`, 'INVALID_QUERY');
  return value;
}

function headerLengthOf(request: FastifyRequest): number | undefined {
  const value = request.headers['inference-header-content-length'];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !/^\d{1,15}$/.test(value.trim())) {
    throw invalid(
      `Inference-Header-Content-Length must be one decimal byte count, got ${JSON.stringify(value)}`,
      'INVALID_HEADER_LENGTH',
    );
  }
  return Number(value.trim());
}

/**
 * Creates the HTTP function that runs in a microVM: KServe Open Inference Protocol v2 (REST, with the
 * binary tensor data extension) over the agent's repository models, and `POST /classify`, `/detect` (text
 * detection), `/ocr` over encoded images. Nothing listens until {@link Serve.listen}.
 */
export async function createServe(options: ServeOptions): Promise<Serve> {
  const client = options?.client;
  if (typeof client?.infer !== 'function') throw new TypeError('createServe needs options.client, a Ferry Client');
  if (options.models !== undefined && !options.models.every((m) => typeof m === 'string' && m !== '')) {
    throw new TypeError('options.models must be a list of model names');
  }
  const limits = resolveLimits(options.limits);
  const served = options.models ? new Set(options.models) : undefined;
  const serverName = options.name ?? 'ferry';
  const registry = createModelRegistry(client);

  const app = fastify({
    logger: false,
    bodyLimit: limits.maxBodyBytes,
    requestTimeout: limits.requestTimeoutMs,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    routerOptions: { maxParamLength: 1100, ignoreTrailingSlash: true },
  });
  // Every body arrives as bytes: inference requests are parsed here (JSON or JSON + binary tensors),
  // images are passed on as they are. Multipart bodies are streamed by @fastify/multipart.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
  await app.register(multipart, {
    limits: { fileSize: limits.maxBodyBytes, fields: 32, parts: 64, fieldSize: 64 * 1024, headerPairs: 200 },
  });

  app.setErrorHandler((error, _request, reply) => {
    const http = toHttpError(error);
    // The connection to the agent is gone, and the sessions with it.
    if (http.error.code === Code.UNAVAILABLE) registry.invalidate();
    return reply.code(http.status).type('application/json; charset=utf-8').send(http.body);
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({
      error: `No route for ${request.method} ${request.url.split('?')[0]}`,
      code: 'NOT_FOUND',
      reason: 'NO_ROUTE',
    }),
  );

  /** Call options for the agent calls of one request: its deadline, and cancellation when the HTTP client leaves. */
  const deadlineOf = (reply: FastifyReply): (() => CallOptions) => {
    const deadline = Date.now() + limits.requestTimeoutMs;
    const controller = new AbortController();
    const timer = setTimeout(
      () =>
        controller.abort(
          new FerryError(Code.DEADLINE_EXCEEDED, `The request did not finish within ${limits.requestTimeoutMs} ms`, {
            reason: 'DEADLINE_EXCEEDED',
          }),
        ),
      limits.requestTimeoutMs,
    );
    timer.unref();
    reply.raw.once('close', () => {
      clearTimeout(timer);
      if (!reply.raw.writableFinished) {
        controller.abort(new FerryError(Code.CANCELLED, 'The HTTP client went away', { reason: 'CLIENT_GONE' }));
      }
    });
    return () => ({ signal: controller.signal, timeoutMs: Math.max(1, deadline - Date.now()) });
  };

  const checkModel = ({ name, version }: ModelParams): string => {
    if (served && !served.has(name)) {
      throw notFound(`Model "${name}" is not served here (serving: ${[...served].join(', ')})`, 'MODEL_NOT_FOUND');
    }
    if (version !== undefined && version !== MODEL_VERSION) {
      throw notFound(
        `Model "${name}" has no version "${version}" (versions: ${MODEL_VERSION})`,
        'MODEL_VERSION_NOT_FOUND',
      );
    }
    return name;
  };

  const readImage = async (request: FastifyRequest): Promise<Uint8Array> => {
    let image: Uint8Array;
    if (request.isMultipart()) {
      const file = await request.file();
      if (!file) throw invalid('The multipart body has no file field', 'MISSING_IMAGE');
      image = await file.toBuffer();
    } else {
      const type = (request.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
      if (!type.startsWith('image/') && type !== 'application/octet-stream') {
        throw invalid(
          `Send the image as the body (image/* or application/octet-stream) or as a multipart/form-data file, not ${type || 'a body without Content-Type'}`,
          'UNSUPPORTED_MEDIA_TYPE',
        );
      }
      image = request.body instanceof Uint8Array ? request.body : new Uint8Array(0);
    }
    if (image.byteLength === 0) throw invalid('The image is empty', 'MISSING_IMAGE');
    return image;
  };

  // --- Open Inference Protocol v2: health and metadata ---------------------------------------------

  app.get('/v2', async () => ({ name: serverName, version: SERVE_VERSION, extensions: ['binary_tensor_data'] }));

  app.get('/v2/health/live', async () => ({ live: true }));

  app.get('/v2/health/ready', async (_request, reply) => {
    try {
      // The signal bounds connecting too (a vsock connect to an absent host can hang).
      const timeout = AbortSignal.timeout(limits.readyTimeoutMs);
      await client.serverInfo({ timeoutMs: limits.readyTimeoutMs, signal: timeout });
      return { ready: true };
    } catch (error) {
      const http = toHttpError(error);
      if (http.error.code === Code.UNAVAILABLE || http.error.code === Code.DEADLINE_EXCEEDED) registry.invalidate();
      return reply.code(503).send({ ready: false, ...http.body });
    }
  });

  const metadata = async (request: FastifyRequest<{ Params: ModelParams }>, reply: FastifyReply) => {
    const name = checkModel(request.params);
    const model = await registry.resolve(name, deadlineOf(reply)());
    const tensors = (infos: typeof model.inputs) =>
      infos.map((i) => ({ name: i.name, datatype: oipDatatype(i.dtype), shape: oipShape(i.shape) }));
    return {
      name,
      versions: [MODEL_VERSION],
      platform: PLATFORM,
      inputs: tensors(model.inputs),
      outputs: tensors(model.outputs),
    };
  };
  app.get('/v2/models/:name', metadata);
  app.get('/v2/models/:name/versions/:version', metadata);

  const modelReady = async (request: FastifyRequest<{ Params: ModelParams }>, reply: FastifyReply) => {
    const name = checkModel(request.params);
    await registry.resolve(name, deadlineOf(reply)());
    return { name, ready: true };
  };
  app.get('/v2/models/:name/ready', modelReady);
  app.get('/v2/models/:name/versions/:version/ready', modelReady);

  // --- Open Inference Protocol v2: inference ------------------------------------------------------

  const infer = async (request: FastifyRequest<{ Params: ModelParams }>, reply: FastifyReply) => {
    const name = checkModel(request.params);
    if (request.isMultipart()) {
      throw invalid(
        'An inference request is JSON, optionally followed by binary tensor data',
        'UNSUPPORTED_MEDIA_TYPE',
      );
    }
    const call = deadlineOf(reply);
    const body = request.body instanceof Uint8Array ? request.body : new Uint8Array(0);
    const parsed = parseInferRequest(body, headerLengthOf(request));
    const model = await registry.resolve(name, call());
    const checked = checkInferRequest(name, parsed, model);
    const { outputs } = await registry.infer(name, checked.inputs, {
      ...call(),
      ...(parsed.outputs?.length ? { outputNames: checked.outputs.map((o) => o.name) } : {}),
    });
    const encoded = encodeInferResponse({
      modelName: name,
      modelVersion: MODEL_VERSION,
      ...(parsed.id === undefined ? {} : { id: parsed.id }),
      outputs: checked.outputs.map(({ name: output, binary }) => {
        const tensor = outputs[output];
        if (!tensor) {
          throw new FerryError(Code.INTERNAL, `The agent returned no output "${output}"`, { reason: 'MISSING_OUTPUT' });
        }
        return { name: output, tensor, binary };
      }),
    });
    if (encoded.headerLength !== undefined) reply.header('Inference-Header-Content-Length', encoded.headerLength);
    return reply.type(encoded.contentType).send(encoded.body);
  };
  app.post('/v2/models/:name/infer', infer);
  app.post('/v2/models/:name/versions/:version/infer', infer);

  // --- Images -------------------------------------------------------------------------------------

  app.post('/classify', async (request, reply) => {
    const model = queryString(request, 'model');
    if (!model) throw invalid('POST /classify needs ?model=<classifier in the agent repository>', 'MISSING_MODEL');
    checkModel({ name: model });
    const topKText = queryString(request, 'topK');
    let topK: number | undefined;
    if (topKText !== undefined) {
      topK = Number(topKText);
      if (!/^\d+$/.test(topKText) || topK < 1 || topK > limits.maxTopK) {
        throw invalid(
          `topK must be an integer from 1 to ${limits.maxTopK}, got ${JSON.stringify(topKText)}`,
          'INVALID_TOP_K',
        );
      }
    }
    const call = deadlineOf(reply);
    const image = await readImage(request);
    const results = await client.classify(image, { ...call(), model, ...(topK === undefined ? {} : { topK }) });
    return { model, results };
  });

  app.post('/detect', async (request, reply) => {
    const model = queryString(request, 'model');
    if (model !== undefined) checkModel({ name: model });
    const call = deadlineOf(reply);
    const image = await readImage(request);
    const detections = await client.detect(image, { ...call(), ...(model ? { model } : {}) });
    return { ...(model ? { model } : {}), detections };
  });

  app.post('/ocr', async (request, reply) => {
    const call = deadlineOf(reply);
    const image = await readImage(request);
    const lines = await client.ocr(image, call());
    return { lines };
  });

  await app.ready();

  let closing: Promise<void> | undefined;
  let destroying: Promise<void> | undefined;
  const serve: Serve = {
    limits,
    async listen(listenOptions = {}) {
      await app.listen({ port: listenOptions.port ?? 8080, host: listenOptions.host ?? '127.0.0.1' });
      const address = app.server.address() as AddressInfo;
      const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      return { url: `http://${host}:${address.port}`, host: address.address, port: address.port };
    },
    close() {
      closing ??= (async () => {
        await app.close();
        await registry.close({ timeoutMs: limits.readyTimeoutMs });
      })();
      return closing;
    },
    destroy() {
      destroying ??= (async () => {
        if (app.server.listening) app.server.closeAllConnections();
        registry.invalidate();
        await app.close();
      })();
      return destroying;
    },
    [Symbol.asyncDispose]() {
      return serve.close();
    },
  };
  return serve;
}
