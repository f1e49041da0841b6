// grpc-js's resolver for `xds:///host:port` targets once register() has run: it follows the target's Routers and
// hands each to the channel as the endpoints to connect to (every endpoint of the snapshot's clusters), the service
// config that selects rxds's endpoint balancer, and the channel's RoutedCalls (its config selector and pick state).

import type { experimental, ChannelOptions } from "@grpc/grpc-js";
import * as grpc from "@grpc/grpc-js";
import type { Subscription } from "rxjs";
import type { Router } from "../../routing/router.js";
import type { XdsClient } from "../../xds-client.js";
import { XdsError } from "../../xds-error.js";
import { ENDPOINT_BALANCER, ROUTED_CALLS } from "./xds-endpoint-balancer.js";
import { RoutedCalls } from "./routed-calls.js";

type GrpcUri = experimental.GrpcUri;
type ResolverListener = experimental.ResolverListener;
type Endpoint = experimental.Endpoint;
type ConfigSelector = experimental.ConfigSelector;
type ResolverConstructor = Parameters<typeof experimental.registerResolver>[1];

const SERVICE_CONFIG = { ok: true as const, value: { loadBalancingConfig: [{ [ENDPOINT_BALANCER]: {} }], methodConfig: [] } };

/** Makes the resolver class register() gives grpc-js, for the XdsClient `client()` returns (called on first use). */
export function xdsResolverClass(client: () => XdsClient): ResolverConstructor {
  return class XdsResolver implements experimental.Resolver {
    private readonly target: string;
    private readonly federated: boolean;
    private calls: RoutedCalls | undefined;
    private subscription: Subscription | undefined;
    private readonly selector: ConfigSelector = { invoke: (method, metadata) => this.calls!.select(method, metadata), unref: () => {} };

    /** The authority of `xds:///host:port` is `host:port`, as grpc-js-xds gives it. */
    static getDefaultAuthority(target: GrpcUri): string {
      return target.path.replace(/^\/+/, "");
    }

    constructor(
      target: GrpcUri,
      private readonly listener: ResolverListener,
      _options: ChannelOptions,
    ) {
      this.target = XdsResolver.getDefaultAuthority(target);
      this.federated = target.authority !== undefined && target.authority !== "";
    }

    updateResolution(): void {
      if (this.subscription !== undefined) return;
      if (this.federated) {
        this.fail(`xds://<authority>/ targets (xDS federation) are not supported by rxds; dial xds:///${this.target}`);
        return;
      }
      try {
        const xds = client();
        this.calls ??= new RoutedCalls(this.target, xds.sourceIp);
        this.subscription = xds.router(this.target).subscribe({
          next: (router) => process.nextTick(() => this.resolved(router)),
          error: (error: unknown) => this.fail(XdsError.from(error).message),
          complete: () => this.fail(`the xDS client of ${JSON.stringify(this.target)} closed`),
        });
      } catch (error: unknown) {
        this.fail(XdsError.from(error).message);
      }
    }

    destroy(): void {
      this.subscription?.unsubscribe();
      this.subscription = undefined;
    }

    private resolved(router: Router): void {
      if (this.subscription === undefined || this.subscription.closed) return;
      const calls = this.calls!;
      calls.router = router;
      this.listener({ ok: true, value: endpointsOf(router) }, { [grpc.experimental.CHANNEL_ARGS_CONFIG_SELECTOR_KEY]: this.selector, [ROUTED_CALLS]: calls }, SERVICE_CONFIG, "");
    }

    private fail(details: string): void {
      process.nextTick(() => this.listener({ ok: false, error: { code: grpc.status.UNAVAILABLE, details, metadata: new grpc.Metadata() } }, {}, null, ""));
    }
  };
}

/** Every endpoint of the Router's clusters, once each, as grpc-js endpoints. */
function endpointsOf(router: Router): Endpoint[] {
  const seen = new Set<string>();
  const endpoints: Endpoint[] = [];
  for (const cluster of router.snapshot.clusters.values()) {
    for (const localities of cluster.endpoints?.priorities ?? []) {
      for (const locality of localities) {
        for (const { address, port } of locality.endpoints) {
          const key = `${address}\n${port}`;
          if (seen.has(key)) continue;
          seen.add(key);
          endpoints.push({ addresses: [{ host: address, port }] });
        }
      }
    }
  }
  return endpoints;
}
