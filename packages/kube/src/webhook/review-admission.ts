import { FerryError } from '@ferry/core';
import { mutatePod, type PodMutationOptions, podOptedIn } from './mutate-pod.js';

/** What to answer an AdmissionReview with: an HTTP status and a JSON body. */
export interface AdmissionAnswer {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Answers one `admission.k8s.io/v1` AdmissionReview: opted-in Pods being created get a base64 JSONPatch;
 * everything else is allowed unchanged. A body that is not an AdmissionReview v1 (no uid to answer to)
 * is HTTP 400; a review whose Pod cannot be read is refused (`allowed: false`, status 400) with the
 * reason, so the API server shows it to whoever created the pod.
 */
export function reviewAdmission(review: unknown, options: PodMutationOptions = {}): AdmissionAnswer {
  if (
    !isObject(review) ||
    review.apiVersion !== 'admission.k8s.io/v1' ||
    review.kind !== 'AdmissionReview' ||
    !isObject(review.request) ||
    typeof review.request.uid !== 'string' ||
    review.request.uid.length === 0
  ) {
    return { status: 400, body: { error: 'Expected an admission.k8s.io/v1 AdmissionReview with request.uid' } };
  }
  const request = review.request;
  const uid = request.uid as string;
  const answer = (response: Record<string, unknown>): AdmissionAnswer => ({
    status: 200,
    body: { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid, ...response } },
  });
  const kind = request.kind;
  const isPod = isObject(kind) && kind.group === '' && kind.version === 'v1' && kind.kind === 'Pod';
  if (!isPod || request.operation !== 'CREATE' || request.subResource) return answer({ allowed: true });
  if (!podOptedIn(request.object)) return answer({ allowed: true });
  try {
    const { patch, warnings } = mutatePod(request.object, options);
    return answer({
      allowed: true,
      ...(patch.length > 0
        ? { patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(patch)).toString('base64') }
        : {}),
      ...(warnings.length > 0 ? { warnings } : {}),
    });
  } catch (error) {
    const failure = FerryError.from(error);
    return answer({ allowed: false, status: { code: 400, reason: 'BadRequest', message: failure.rawMessage } });
  }
}
