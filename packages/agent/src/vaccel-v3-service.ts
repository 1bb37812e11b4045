import { isAbsolute, posix, resolve, sep } from 'node:path';
import { Code, FerryError } from '@ferry/core';
import {
  VaccelAgentService,
  type VaccelBlob,
  type VaccelGenopArg,
  VaccelResourceType,
  type VaccelTfDataType,
  type VaccelTfliteDataType,
  type VaccelTorchDataType,
} from '@ferry/protocol';
import {
  type AgentServices,
  type CallContext,
  type MethodHandler,
  NO_MODEL,
  RUNS_MODEL,
} from './accelerator-service.js';
import { sha256Hex } from './model-files.js';
import { classifyForVaccel, nulPadded, VACCEL_TAGS_BYTES, type VaccelOptions } from './vaccel-classify.js';
import { vaccelHandler, vaccelId } from './vaccel-handler.js';
import { runVaccelTensors, TF_DTYPES, TFLITE_DTYPES, TORCH_DTYPES } from './vaccel-tensors.js';

const m = VaccelAgentService.method;

/** vAccel's op types (`vaccel_op_type_t`), as Genop carries them in `read_args[0]` (a little-endian u32). */
const VaccelOp = { NOOP: 0, BLAS_SGEMM: 1, IMAGE_CLASSIFY: 2, IMAGE_DETECT: 3 } as const;

const OP_NAMES = [
  'noop',
  'blas_sgemm',
  'image_classify',
  'image_detect',
  'image_segment',
  'image_pose',
  'image_depth',
  'exec',
];

/**
 * The handlers of vAccel's current service `vaccel.sync.agent.AgentService`, on Ferry's tenants: a vAccel
 * session is a Ferry session and a vAccel model resource is a tenant model (ids scoped to the tenant, so
 * another sandbox's are NOT_FOUND), loaded content-addressed and shared with every tenant that registered
 * the same bytes. What Ferry cannot do answers in vAccel's error shape, never by closing the connection.
 */
export function vaccelV3Handlers(options: VaccelOptions): readonly MethodHandler[] {
  const session = (id: bigint, { tenant }: CallContext): number => {
    const sessionId = vaccelId(id, 'Session', tenant.name);
    tenant.checkSession(sessionId);
    return sessionId;
  };
  const resource = (id: bigint, { tenant }: CallContext) => tenant.model(vaccelId(id, 'Resource', tenant.name));

  return [
    vaccelHandler(m.createSession, NO_MODEL, async (_input, { tenant, owner }) => ({
      sessionId: BigInt(tenant.createSession(owner)),
    })),

    vaccelHandler(m.updateSession, NO_MODEL, async (input, context) => {
      session(input.sessionId, context);
      return {};
    }),

    vaccelHandler(m.destroySession, NO_MODEL, async (input, { tenant }) => {
      await tenant.destroySession(vaccelId(input.sessionId, 'Session', tenant.name));
      return {};
    }),

    vaccelHandler(m.registerResource, NO_MODEL, async (input, context) => {
      const { tenant, services, signal } = context;
      const sessionId = session(input.sessionId, context);
      if (input.resourceId !== 0n) {
        // An existing resource of this tenant: vAccel registers one resource with several sessions.
        return { resourceId: BigInt(resource(input.resourceId, context).id) };
      }
      if (input.resourceType !== VaccelResourceType.MODEL) {
        throw new FerryError(
          Code.UNIMPLEMENTED,
          `vAccel ${input.resourceType === VaccelResourceType.LIB ? 'LIB' : 'DATA'} resources are not supported by Ferry: register an ONNX MODEL`,
          { reason: 'VACCEL_UNSUPPORTED' },
        );
      }
      const files = input.blobs.length + input.paths.length;
      if (files > services.limits.maxTensorsPerCall) {
        throw new FerryError(
          Code.RESOURCE_EXHAUSTED,
          `A resource of ${files} files is over the limit of ${services.limits.maxTensorsPerCall}`,
          { reason: 'VACCEL_TOO_MANY_ARGS' },
        );
      }
      const candidates = [
        ...input.blobs.map((blob) => blobFile(blob, services)),
        ...(await Promise.all(input.paths.map((path) => pathFile(path, options, services)))),
      ];
      const onnx = candidates.length === 1 ? candidates : candidates.filter((f) => f.name.endsWith('.onnx'));
      const file = onnx.length === 1 ? onnx[0] : undefined;
      if (!file) {
        throw new FerryError(
          Code.INVALID_ARGUMENT,
          `A model resource needs exactly one ONNX file; got ${candidates.length} files, ${onnx.length} named *.onnx`,
          { reason: 'VACCEL_NO_MODEL_FILE' },
        );
      }
      // The model's place and bytes are reserved before any work, as RegisterModel does.
      const reservation = tenant.reserveModel(sessionId);
      try {
        reservation.reserveBytes(file.bytes.byteLength);
        const sha256 = sha256Hex(file.bytes);
        signal.throwIfAborted();
        const backend = services.defaultBackend;
        // A guest's blob name is not a model name: metrics and listings use the content hash, as RegisterModel does.
        const name = file.fromPath ? file.name : `sha256:${sha256.slice(0, 12)}`;
        const { model: cached } = await services.cache.acquire(sha256, file.bytes, backend, name);
        const model = await tenant.addModel(reservation, name, cached);
        return { resourceId: BigInt(model.id) };
      } finally {
        reservation.release();
      }
    }),

    vaccelHandler(m.unregisterResource, NO_MODEL, async (input, context) => {
      const sessionId = session(input.sessionId, context);
      const model = resource(input.resourceId, context);
      if (model.sessionId !== sessionId) {
        throw new FerryError(
          Code.NOT_FOUND,
          `Resource ${input.resourceId} is not registered with session ${input.sessionId}`,
          { reason: 'MODEL_NOT_FOUND' },
        );
      }
      await context.tenant.unregisterModel(model.id);
      return {};
    }),

    // Ferry never writes into a resource, so there is nothing to bring back to the guest.
    vaccelHandler(m.syncResource, NO_MODEL, async (input, context) => {
      resource(input.resourceId, context);
      return { blobs: [] };
    }),

    vaccelHandler(m.imageClassification, RUNS_MODEL, async (input, context) => {
      session(input.sessionId, context);
      return { tags: nulPadded(await classifyForVaccel(input.image, options, context), VACCEL_TAGS_BYTES) };
    }),

    vaccelHandler(m.tensorflowModelLoad, NO_MODEL, async (input, context) => {
      session(input.sessionId, context);
      resource(input.modelId, context);
      return { graphDef: new Uint8Array(0) };
    }),

    vaccelHandler(m.tensorflowModelUnload, NO_MODEL, async (input, context) => {
      session(input.sessionId, context);
      resource(input.modelId, context);
      return {};
    }),

    vaccelHandler(m.tensorflowModelRun, RUNS_MODEL, async (input, context) => {
      if (input.inNodes.length !== input.inTensors.length) {
        throw new FerryError(
          Code.INVALID_ARGUMENT,
          `${input.inNodes.length} input nodes but ${input.inTensors.length} input tensors`,
          { reason: 'VACCEL_TENSOR_MISMATCH' },
        );
      }
      const outputs = await runVaccelTensors(
        {
          sessionId: input.sessionId,
          modelId: input.modelId,
          inputs: input.inTensors,
          inputNames: input.inNodes.map((n) => n.name),
          outputs: input.outNodes.map((n) => n.name),
          table: TF_DTYPES,
        },
        context,
      );
      return {
        outTensors: outputs.map((o) => ({ data: o.data, dims: o.dims.map(BigInt), type: o.type as VaccelTfDataType })),
      };
    }),

    vaccelHandler(m.tensorflowLiteModelLoad, NO_MODEL, async (input, context) => {
      session(input.sessionId, context);
      resource(input.modelId, context);
      return {};
    }),

    vaccelHandler(m.tensorflowLiteModelUnload, NO_MODEL, async (input, context) => {
      session(input.sessionId, context);
      resource(input.modelId, context);
      return {};
    }),

    vaccelHandler(m.tensorflowLiteModelRun, RUNS_MODEL, async (input, context) => {
      const outputs = await runVaccelTensors(
        {
          sessionId: input.sessionId,
          modelId: input.modelId,
          inputs: input.inTensors,
          outputs: outputCount(input.nrOutTensors),
          table: TFLITE_DTYPES,
        },
        context,
      );
      return {
        outTensors: outputs.map((o) => ({ data: o.data, dims: o.dims, type: o.type as VaccelTfliteDataType })),
      };
    }),

    vaccelHandler(m.torchJitloadForward, RUNS_MODEL, async (input, context) => {
      const outputs = await runVaccelTensors(
        {
          sessionId: input.sessionId,
          modelId: input.modelId,
          inputs: input.inTensors,
          outputs: outputCount(input.nrOutputs),
          table: TORCH_DTYPES,
        },
        context,
      );
      const outTensors = outputs.map((o) => ({
        data: o.data,
        dims: o.dims.map(BigInt),
        type: o.type as VaccelTorchDataType,
      }));
      return { outcome: { case: 'result' as const, value: { outTensors } } };
    }),

    vaccelHandler(m.genop, RUNS_MODEL, async (input, context) => ({ writeArgs: await genop(input, options, context) })),

    // Ferry's timings are its Prometheus metrics; vAccel's profiler regions stay empty.
    vaccelHandler(m.getTimers, NO_MODEL, async () => ({ timers: [] })),
  ];
}

interface ResourceFile {
  readonly name: string;
  readonly bytes: Uint8Array;
  /** A file of the model directory (its name is a checked repository path), not a guest's blob. */
  readonly fromPath: boolean;
}

function blobFile(blob: VaccelBlob, services: AgentServices): ResourceFile {
  if (blob.size !== 0 && blob.size !== blob.data.byteLength) {
    throw new FerryError(
      Code.INVALID_ARGUMENT,
      `Blob "${blob.name}" says ${blob.size} bytes but carries ${blob.data.byteLength}`,
      { reason: 'VACCEL_BLOB_SIZE_MISMATCH' },
    );
  }
  if (blob.data.byteLength > services.limits.maxModelFileBytes) {
    throw new FerryError(
      Code.RESOURCE_EXHAUSTED,
      `Blob "${blob.name}" is ${blob.data.byteLength} bytes, over ${services.limits.maxModelFileBytes}`,
      { reason: 'MODEL_TOO_LARGE' },
    );
  }
  return { name: blob.name, bytes: blob.data, fromPath: false };
}

/**
 * A resource path: only inside the agent's model directory (absolute under it, or relative to it); the
 * directory's own checks refuse `..` and symlinks that leave it.
 */
async function pathFile(path: string, options: VaccelOptions, services: AgentServices): Promise<ResourceFile> {
  const denied = () =>
    new FerryError(Code.PERMISSION_DENIED, `Resource path "${path}" is outside the agent's model directory`, {
      reason: 'VACCEL_PATH_DENIED',
    });
  const directory = services.modelDirectory;
  if (options.modelDir === undefined || directory === undefined) throw denied();
  let relative = path;
  if (isAbsolute(path)) {
    const root = resolve(options.modelDir);
    if (!path.startsWith(root + sep)) throw denied();
    relative = path.slice(root.length + 1);
  }
  relative = posix.normalize(relative);
  if (relative === '.' || relative === '..' || relative.startsWith('../') || isAbsolute(relative)) throw denied();
  const file = await directory.read(relative);
  return { name: relative, bytes: file.bytes, fromPath: true };
}

function outputCount(n: bigint | number): number {
  const count = Number(n);
  return Number.isSafeInteger(count) && count > 0 ? count : 0;
}

/** Genop: the ops Ferry has (noop, image classification, image detection); the others are unsupported. */
async function genop(
  input: { sessionId: bigint; readArgs: readonly VaccelGenopArg[]; writeArgs: readonly VaccelGenopArg[] },
  options: VaccelOptions,
  context: CallContext,
): Promise<{ argtype: number; size: number; buf: Uint8Array }[]> {
  const { tenant, services, signal, report } = context;
  tenant.checkSession(vaccelId(input.sessionId, 'Session', tenant.name));
  const { readArgs: read, writeArgs: write } = input;
  const { maxTensorsPerCall, maxFrameBytes } = services.limits;
  if (read.length > maxTensorsPerCall || write.length > maxTensorsPerCall) {
    throw new FerryError(
      Code.RESOURCE_EXHAUSTED,
      `Genop with ${read.length} read and ${write.length} write arguments is over the limit of ${maxTensorsPerCall}`,
      { reason: 'VACCEL_TOO_MANY_ARGS' },
    );
  }
  const writeBytes = write.reduce((sum, arg) => sum + arg.size, 0);
  if (writeBytes > maxFrameBytes) {
    throw new FerryError(
      Code.RESOURCE_EXHAUSTED,
      `Genop asks for ${writeBytes} bytes of write arguments, over the ${maxFrameBytes}-byte frame limit`,
      { reason: 'VACCEL_ARGS_TOO_LARGE' },
    );
  }
  const opArg = read[0];
  if (!opArg || opArg.buf.byteLength < 4) {
    throw new FerryError(Code.INVALID_ARGUMENT, 'Genop needs the op type in read_args[0]', {
      reason: 'VACCEL_BAD_GENOP',
    });
  }
  const op = new DataView(opArg.buf.buffer, opArg.buf.byteOffset, 4).getUint32(0, true);
  const answer = (texts: readonly (string | Uint8Array)[]) =>
    write.map((arg, k) => {
      const text = texts[k] ?? '';
      const buf = typeof text === 'string' ? nulPadded(text, arg.size) : fit(text, arg.size);
      return { argtype: arg.argtype, size: arg.size, buf };
    });
  const expect = (reads: number, writes: number) => {
    if (read.length !== reads || write.length !== writes) {
      throw new FerryError(
        Code.INVALID_ARGUMENT,
        `vAccel op ${OP_NAMES[op]} takes ${reads} read and ${writes} write arguments; got ${read.length} and ${write.length}`,
        { reason: 'VACCEL_BAD_GENOP' },
      );
    }
  };
  switch (op) {
    case VaccelOp.NOOP:
      return answer(write.map((arg) => arg.buf));
    case VaccelOp.IMAGE_CLASSIFY: {
      expect(2, 2);
      const tag = await classifyForVaccel((read[1] as VaccelGenopArg).buf, options, context);
      return answer([tag, '']);
    }
    case VaccelOp.IMAGE_DETECT: {
      expect(2, 1);
      const boxes = await services.ops.detectText((read[1] as VaccelGenopArg).buf, {
        model: '',
        signal,
        report,
        tenant: context.tenant.name,
      });
      const lines = boxes.map(
        (box) =>
          `${box.score.toFixed(3)} ${box.points.map((p) => `${Math.round(p.x)},${Math.round(p.y)}`).join(' ')}\n`,
      );
      return answer([fitLines(lines, (write[0] as VaccelGenopArg).size)]);
    }
    default:
      throw new FerryError(
        Code.UNIMPLEMENTED,
        `vAccel op ${OP_NAMES[op] ?? 'unknown'} (${op}) is not supported by Ferry (it has noop, image_classify, image_detect)`,
        { reason: 'VACCEL_UNSUPPORTED' },
      );
  }
}

/** `bytes` in exactly `size` bytes: cut or zero-padded. */
function fit(bytes: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(size);
  out.set(bytes.subarray(0, size));
  return out;
}

/** As many whole lines as fit in `size` bytes with a terminating NUL. */
function fitLines(lines: readonly string[], size: number): string {
  let text = '';
  let bytes = 0;
  for (const line of lines) {
    const length = Buffer.byteLength(line);
    if (bytes + length > size - 1) break;
    text += line;
    bytes += length;
  }
  return text;
}
