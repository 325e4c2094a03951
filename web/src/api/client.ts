// The typed API client: openapi-fetch over the generated schema, every request through the tab's
// Auth (bearer token, one refresh and one retry on 401). Reads call `api.GET(...)`; writes go through
// ./writes.ts only, so part 2 can put the offline outbox behind that one door.
import createClient from 'openapi-fetch';
import type { components, paths } from './schema';
import { Auth, browserDeps } from './auth';
import { ProblemError, toProblem } from './problem';
import { net } from '../offline/net';

export type Schemas = components['schemas'];
export { ProblemError } from './problem';

export const auth = new Auth(browserDeps());

export const api = createClient<paths>({
  baseUrl: globalThis.location?.origin ?? '',
  fetch: async (req: Request) => {
    const res = await auth.fetch(req);
    net.saw(res); // from the server, or the service worker's copy (offline indicator, "last synced")
    return res;
  },
});

if (typeof window !== 'undefined') window.addEventListener('online', () => void auth.reconnect());

/** Unwraps an openapi-fetch result: the data, or a thrown ProblemError (network failures included). */
export async function read<T>(
  call: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<{ data: T; etag: string | null }> {
  let r: { data?: T; error?: unknown; response: Response };
  try {
    r = await call;
  } catch (e) {
    if (e instanceof ProblemError) throw e;
    throw ProblemError.network();
  }
  if (!r.response.ok || r.data === undefined) throw await toProblem(r.response, r.error);
  return { data: r.data, etag: r.response.headers.get('ETag') };
}
