/** The API's `$default` route: 405 with `Allow` for a known path and another method (204 with `Allow` for OPTIONS), else 404; problem+json both. */
import { instrumented, log } from '#aws/observability';
import { type HttpEvent, type HttpResult, answer } from '#core/http';
import { methodNotAllowedProblem, routeNotFoundProblem } from '#core/problem';
import { routes } from '#infra/functions';

/** A route's path as a pattern: literal parts escaped (`/openapi.json` is not `/openapi_json`), each `{param}` one segment. */
function pathPattern(path: string): RegExp {
  const literals = path.split(/\{\w+\}/).map((part) => part.replace(/[.*+?^$()|[\]{}\\]/g, '\\$&'));
  return new RegExp(`^${literals.join('[^/]+')}$`);
}

const patterns = routes.map((route) => ({ method: route.method, pattern: pathPattern(route.path) }));

export const handler = instrumented(
  (event: HttpEvent): Promise<HttpResult> =>
    answer(event, log, async () => {
      const path = event.rawPath;
      const method = event.requestContext.http.method;
      const allowed: string[] = patterns.filter((route) => route.pattern.test(path)).map((route) => route.method);
      // This function runs only when no route took the request. A route of this method matching the path
      // means the path matched only once decoded (GET /job%73: routes match the path as sent, this function
      // gets it decoded), so no route answers it: 404, not a 405 that lists the method it refuses.
      if (allowed.length === 0 || allowed.includes(method)) throw routeNotFoundProblem(path);
      // OPTIONS asks what a path supports: that is the answer, not an error (a CORS preflight API Gateway passes on gets it too).
      // It is one of the path's methods, so the 405's Allow names it as well.
      const allow = [...allowed, 'OPTIONS'];
      if (method === 'OPTIONS') return { statusCode: 204, headers: { allow: allow.join(', ') } };
      throw methodNotAllowedProblem(method, path, allowed, allow);
    }),
  (event) => event.requestContext.requestId,
);
