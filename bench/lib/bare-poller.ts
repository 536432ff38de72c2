/**
 * The floor of the incumbent bench: a bare Node.js process polling the counting server as the flows do —
 * per device one TCP connection and a read of REGISTERS holding registers every INTERVAL ms, each
 * reply's registers decoded and counted — with no Node-RED, no messages and no package. Its CPU per value
 * is what polling costs on the machine before any package adds anything: a goal under it cannot be met
 * by any flow. `node --import tsx bench/lib/bare-poller.ts PORT[,PORT…] INTERVAL_MS REGISTERS`, forked
 * with an IPC channel: it answers each message with the values decoded so far, and exits when the
 * channel closes.
 */
import net from "node:net";

const [portList, intervalText, registersText] = process.argv.slice(2);
const ports = portList.split(",").map(Number);
const intervalMs = Number(intervalText);
const registers = Number(registersText);
let values = 0;
let sum = 0;

for (const port of ports) {
  let transaction = 0;
  const socket = net.connect({ host: "127.0.0.1", port });
  socket.setNoDelay(true);
  socket.on("error", () => process.exit(1));
  socket.on("data", (reply: Buffer) => {
    // MBAP (7) + function code + byte count, then the registers; a reply per read on loopback.
    for (let i = 9; i + 1 < reply.length; i += 2) {
      sum += reply.readUInt16BE(i);
      values++;
    }
  });
  socket.once("connect", () => {
    setInterval(() => {
      transaction = (transaction + 1) & 0xffff;
      const request = Buffer.from([0, 0, 0, 0, 0, 6, 1, 3, 0, 0, registers >> 8, registers & 0xff]);
      request.writeUInt16BE(transaction, 0);
      socket.write(request);
    }, intervalMs);
  });
}

process.on("message", () => process.send?.({ values, sum }));
process.on("disconnect", () => process.exit(0));
