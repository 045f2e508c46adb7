// Runs an ONNX model with onnxruntime-node (a runtime nobody here wrote) for chop's export tests:
//   node tests/onnx/run_onnx.js MODEL.onnx INPUT.bin OUTPUT.bin D0,D1,...
// INPUT.bin: float32 little-endian of shape D0 x D1 x ...; OUTPUT.bin: the first output, float32.
const fs = require("fs");
const path = require("path");
const ort = require(path.join(__dirname, "..", "..", "node_modules", "onnxruntime-node"));

async function main() {
  const [model, input, output, dims] = process.argv.slice(2);
  const shape = dims.split(",").map(Number);
  const bytes = fs.readFileSync(input);
  const data = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
  const session = await ort.InferenceSession.create(model);
  const feeds = {};
  feeds[session.inputNames[0]] = new ort.Tensor("float32", data, shape);
  const result = await session.run(feeds);
  const y = result[session.outputNames[0]];
  fs.writeFileSync(output, Buffer.from(y.data.buffer, y.data.byteOffset, y.data.byteLength));
  console.log(y.dims.join(","));
}

main().catch((e) => {
  console.error(`run_onnx: ${e.message}`);
  process.exit(1);
});
