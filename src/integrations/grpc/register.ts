// register(): the drop-in for @grpc/grpc-js-xds's register(). It registers, through grpc-js's public extension points
// (`experimental.registerResolver`, `experimental.registerLoadBalancerType`, as grpc-js-xds does), a resolver for the
// `xds` scheme and the load-balancing policy it selects, so that every grpc-js client dialling `xds:///host:port` is
// routed by rxds: by the process-wide XdsClient of init() (GRPC_XDS_BOOTSTRAP / GRPC_XDS_BOOTSTRAP_CONFIG, else the
// pod environment), created when the first such channel resolves, or by the client given.

import * as grpc from "@grpc/grpc-js";
import { init } from "../../init.js";
import type { XdsClient } from "../../xds-client.js";
import { XdsError } from "../../xds-error.js";
import { ENDPOINT_BALANCER, XdsEndpointBalancer, XdsEndpointBalancerConfig } from "./xds-endpoint-balancer.js";
import { xdsResolverClass } from "./xds-resolver.js";

/** Options of register(). */
export interface RegisterOptions {
  /** The XdsClient that routes `xds:///` channels; default the process-wide one, `init()`, made on first use. */
  readonly xds?: XdsClient;
}

/**
 * Makes every grpc-js client of `xds:///host:port` in this process route its calls with rxds, as @grpc/grpc-js-xds's
 * register() does with its own client: `new GreetServiceClient("xds:///kitex-server:8888", credentials.createInsecure())`.
 * Calls are routed by their method path and metadata; the route's timeout caps their deadline, and its retry policy,
 * fault injection and local rate limit apply. Registers with the copy of @grpc/grpc-js that rxds imports (the
 * application's, a peer dependency), which must be 1.14 or later; throws XdsError INVALID_CONFIG otherwise. Calling it
 * again replaces the registration.
 */
export function register(options: RegisterOptions = {}): void {
  const experimental = grpc.experimental;
  if (typeof experimental?.CHANNEL_ARGS_CONFIG_SELECTOR_KEY !== "string") {
    throw new XdsError("INVALID_CONFIG", "register() needs @grpc/grpc-js 1.14 or later (its resolvers give config selectors as attributes); this copy is older: use xdsClientOptions(xds) with it");
  }
  const given = options.xds;
  experimental.registerLoadBalancerType(ENDPOINT_BALANCER, XdsEndpointBalancer, XdsEndpointBalancerConfig);
  experimental.registerResolver("xds", xdsResolverClass(() => given ?? init()));
}
