// Run as a child process (`node first-rpc-probe.js <register module> <target>`), with the bootstrap in
// GRPC_XDS_BOOTSTRAP_CONFIG: what a gRPC application does from its start, imports grpc-js and the library, calls its
// register(), dials `xds:///<target>` and makes one unary call; prints, as JSON, the ms from the process's start to
// the call's answer (performance.now() counts from the process's start).
const [registerModule, target] = process.argv.slice(2);
if (!registerModule || !target) {
  process.stderr.write("usage: node first-rpc-probe.js <register module> <target>\n");
  process.exit(2);
}
const grpc = await import("@grpc/grpc-js");
const { register } = (await import(registerModule)) as { register: () => void };
register();
const client = new grpc.Client(`xds:///${target}`, grpc.credentials.createInsecure());
const bytes = (b: Buffer) => b;
await new Promise<void>((resolve, reject) =>
  client.makeUnaryRequest("/bench.Echo/Call", bytes, bytes, Buffer.alloc(0), { deadline: Date.now() + 30_000 }, (error) => (error ? reject(error) : resolve())),
);
process.stdout.write(`${JSON.stringify({ firstRpcMs: performance.now() })}\n`);
process.exit(0);
