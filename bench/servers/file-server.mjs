// A plain node:http server for one file (the path in argv[2]): GET with `Range: bytes=<n>-` support,
// read with 1 MiB reads. Used by bench/download.mjs, so that ours and curl fetch from the same process.
import { createReadStream, statSync } from "node:fs";
import { createServer } from "node:http";

const path = process.argv[2];
const size = statSync(path).size;

createServer((req, res) => {
  const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? "");
  const start = range ? Number(range[1]) : 0;
  if (start >= size && size > 0) {
    res.writeHead(416, { "content-range": `bytes */${size}` });
    res.end();
    return;
  }
  const headers = {
    "content-type": "application/octet-stream",
    "content-length": size - start,
    "accept-ranges": "bytes",
  };
  if (range) headers["content-range"] = `bytes ${start}-${size - 1}/${size}`;
  res.writeHead(range ? 206 : 200, headers);
  createReadStream(path, { start, highWaterMark: 1024 * 1024 }).pipe(res);
}).listen(0, "127.0.0.1", function () {
  console.log(`http://127.0.0.1:${this.address().port}`);
});
