// A plain node:http server that answers every request with the JSON body in $BODY. With
// --executor it first runs the request through the executor (a trivial `ping`), so the two
// together show what the executor costs inside a server and what the dev runner adds on top.
import { createServer } from "node:http";
import { createBenchExecutor } from "../executor.mjs";

const body = process.env.BODY ?? "{}";
const executor = process.argv.includes("--executor") ? createBenchExecutor() : undefined;
let runs = 0;

createServer((req, res) => {
  req.resume();
  req.on("end", async () => {
    if (executor)
      await executor.run({ runId: `r${runs++}`, functionName: "ping", payload: { n: 1 }, payloadBytes: 7 });
    res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
    res.end(body);
  });
}).listen(0, "127.0.0.1", function () {
  console.log(`http://127.0.0.1:${this.address().port}`);
});
