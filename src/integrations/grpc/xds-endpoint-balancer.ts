// grpc-js's load-balancing policy for channels that register()'s resolver serves: it keeps a subchannel per endpoint
// of the target (connected at once and kept connected, as grpc's round_robin keeps them), and publishes a picker that
// asks the channel's RoutedCalls which endpoint each call goes to. The choice itself is rxds's (balancing/), made
// when the call was routed; this policy only connects.
//
// The channel is READY while some endpoint is connected, CONNECTING while some is connecting, else TRANSIENT_FAILURE.

import type { ChannelOptions, experimental } from "@grpc/grpc-js";
import * as grpc from "@grpc/grpc-js";
import type { RoutedCalls } from "./routed-calls.js";

type Subchannel = experimental.SubchannelInterface;
type Endpoint = experimental.Endpoint;
type StatusOr<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** The name under which the policy is registered with grpc-js. */
export const ENDPOINT_BALANCER = "rxds_endpoints";
/** The resolver attribute that carries a channel's RoutedCalls to its endpoint balancer (see xds-resolver.ts). */
export const ROUTED_CALLS = "rxds.routed_calls";

/** The policy's config: it has no fields. */
export class XdsEndpointBalancerConfig implements experimental.TypedLoadBalancingConfig {
  getLoadBalancerName(): string {
    return ENDPOINT_BALANCER;
  }

  toJsonObject(): object {
    return { [ENDPOINT_BALANCER]: {} };
  }

  static createFromJson(): XdsEndpointBalancerConfig {
    return new XdsEndpointBalancerConfig();
  }
}

/** A subchannel per endpoint (`address:port`), and a picker over them for the channel's RoutedCalls. */
export class XdsEndpointBalancer implements experimental.LoadBalancer {
  private readonly subchannels = new Map<string, Subchannel>();
  private calls: RoutedCalls | undefined;
  private readonly onStateChange = (subchannel: Subchannel, _previous: grpc.connectivityState, next: grpc.connectivityState): void => {
    if (next === grpc.connectivityState.IDLE) subchannel.startConnecting();
    this.publish();
  };

  constructor(private readonly helper: experimental.ChannelControlHelper) {}

  updateAddressList(endpoints: StatusOr<Endpoint[]>, _config: experimental.TypedLoadBalancingConfig, options: ChannelOptions): boolean {
    const calls = options[ROUTED_CALLS] as RoutedCalls | undefined;
    if (!endpoints.ok || calls === undefined) return false;
    this.calls = calls;
    const wanted = new Set<string>();
    for (const endpoint of endpoints.value) {
      for (const address of endpoint.addresses) {
        if (!("host" in address)) continue;
        const key = address.host.includes(":") ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
        wanted.add(key);
        if (this.subchannels.has(key)) continue;
        const subchannel = this.helper.createSubchannel(address, {});
        subchannel.ref();
        subchannel.addConnectivityStateListener(this.onStateChange);
        this.subchannels.set(key, subchannel);
        subchannel.startConnecting();
      }
    }
    for (const [key, subchannel] of this.subchannels) {
      if (!wanted.has(key)) this.drop(key, subchannel);
    }
    this.publish();
    return true;
  }

  exitIdle(): void {
    for (const subchannel of this.subchannels.values()) {
      if (subchannel.getConnectivityState() === grpc.connectivityState.IDLE) subchannel.startConnecting();
    }
  }

  resetBackoff(): void {}

  destroy(): void {
    for (const [key, subchannel] of this.subchannels) this.drop(key, subchannel);
    this.calls = undefined;
  }

  getTypeName(): string {
    return ENDPOINT_BALANCER;
  }

  private drop(key: string, subchannel: Subchannel): void {
    subchannel.removeConnectivityStateListener(this.onStateChange);
    subchannel.unref();
    this.subchannels.delete(key);
  }

  private publish(): void {
    const calls = this.calls;
    if (calls === undefined) return;
    let state = grpc.connectivityState.TRANSIENT_FAILURE;
    for (const subchannel of this.subchannels.values()) {
      const s = subchannel.getConnectivityState();
      if (s === grpc.connectivityState.READY) {
        state = s;
        break;
      }
      if (s === grpc.connectivityState.CONNECTING || s === grpc.connectivityState.IDLE) state = grpc.connectivityState.CONNECTING;
    }
    const subchannels = this.subchannels;
    this.helper.updateState(state, { pick: (args) => calls.pick(args.extraPickInfo, subchannels) }, null);
  }
}
