import * as grpc from "@grpc/grpc-js";

/** Why a channel did not become ready. */
export type NotReady = "timeout" | "unavailable" | "shutdown";

/**
 * Waits until `client`'s channel has a connection to the scheduler (READY), at most until
 * `deadline` (epoch ms). Resolves undefined when ready, else why not: `unavailable` as soon as a
 * connection attempt fails (refused, unreachable, TLS), `timeout` when the deadline passes first
 * (a black hole, where TCP itself would wait for minutes).
 */
export function channelReady(client: grpc.Client, deadline: number): Promise<NotReady | undefined> {
  const channel = client.getChannel();
  return new Promise((resolve) => {
    const check = () => {
      const state = channel.getConnectivityState(true);
      if (state === grpc.connectivityState.READY) return resolve(undefined);
      if (state === grpc.connectivityState.TRANSIENT_FAILURE) return resolve("unavailable");
      if (state === grpc.connectivityState.SHUTDOWN) return resolve("shutdown");
      if (Date.now() >= deadline) return resolve("timeout");
      channel.watchConnectivityState(state, deadline, (error) => (error ? resolve("timeout") : check()));
    };
    check();
  });
}
