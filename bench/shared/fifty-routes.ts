// The 50-route VirtualService the route benches share: only the last route matches the benchmark request,
// so every decision walks all of them.
export const ROUTES = 50;

export interface RouteSpec {
  name: string;
  match: Array<{ uri?: { prefix?: string; exact?: string }; headers?: Record<string, { exact: string }>; method?: { exact: string } }>;
  route: Array<{ cluster: string; weight?: number }>;
  timeout_ms?: number;
}

export function fiftyRoutes(): RouteSpec[] {
  const out: RouteSpec[] = [];
  for (let i = 0; i < ROUTES - 1; i++) {
    out.push({
      name: `r${i}`,
      match: [{ uri: { prefix: `/svc${i}/` }, headers: { "x-tenant": { exact: `t${i}` } } }, { uri: { exact: `/exact${i}` } }],
      route: [{ cluster: `c${i}a`, weight: 80 }, { cluster: `c${i}b`, weight: 20 }],
    });
  }
  out.push({ name: "last", match: [{ uri: { prefix: `/svc${ROUTES - 1}/` }, method: { exact: "GET" } }], route: [{ cluster: `c${ROUTES - 1}` }], timeout_ms: 1000 });
  return out;
}

export const DOMAINS = ["reviews", "reviews:9080", "reviews.foo", "reviews.foo:9080"];
/** The cluster the benchmark request must be routed to. */
export const EXPECTED_CLUSTER = `c${ROUTES - 1}`;
export const REQUEST_PATH = `/svc${ROUTES - 1}/items?page=2`;
export const REQUEST_TENANT = `t${ROUTES - 1}`;
