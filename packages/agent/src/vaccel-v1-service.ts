import { VaccelV1Agent } from '@ferry/protocol';
import { type MethodHandler, NO_MODEL, RUNS_MODEL } from './accelerator-service.js';
import { classifyForVaccel, nulPadded, VACCEL_TAGS_BYTES, type VaccelOptions } from './vaccel-classify.js';
import { vaccelHandler, vaccelId } from './vaccel-handler.js';

const m = VaccelV1Agent.method;

/**
 * The handlers of vAccel's FOSDEM-era service `grpc.VaccelAgent`, on Ferry's tenants and sessions: a
 * session is a Ferry session of the caller's tenant (another tenant's id is NOT_FOUND), and
 * ImageClassification runs the agent's vAccel classifier.
 */
export function vaccelV1Handlers(options: VaccelOptions): readonly MethodHandler[] {
  return [
    vaccelHandler(m.createSession, NO_MODEL, async (_input, { tenant, owner }) => ({
      sessionId: tenant.createSession(owner),
    })),

    vaccelHandler(m.destroySession, NO_MODEL, async (input, { tenant }) => {
      await tenant.destroySession(vaccelId(input.sessionId, 'Session', tenant.name));
      return {};
    }),

    vaccelHandler(m.imageClassification, RUNS_MODEL, async (input, context) => {
      const { tenant } = context;
      tenant.checkSession(vaccelId(input.sessionId, 'Session', tenant.name));
      const tag = await classifyForVaccel(input.image, options, context);
      return { tags: nulPadded(tag, VACCEL_TAGS_BYTES) };
    }),
  ];
}
