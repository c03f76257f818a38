// Child process of `npm run bench:transport`: a TcpNetwork host that echoes every message
// back to its sender. Prints its port, then serves until its parent closes stdin.
import { hostId } from '../src/env/index.ts';
import { AddressBook } from '../src/runtime/address-book.ts';
import { Keyring } from '../src/runtime/keyring.ts';
import { TcpNetwork } from '../src/runtime/tcp-network.ts';

const [peerPortText, secretBase64] = process.argv.slice(2);
if (peerPortText === undefined || secretBase64 === undefined)
  throw new Error('usage: PEER_PORT SECRET_BASE64');
const addressBook = new AddressBook([
  [hostId('bench-client'), { host: '127.0.0.1', port: Number(peerPortText) }],
]);
const network = await TcpNetwork.start({
  self: hostId('bench-echo'),
  listen: { host: '127.0.0.1', port: 0 },
  addressBook,
  keyring: Keyring.fromSecrets('bench', { bench: Buffer.from(secretBase64, 'base64') }),
});
network.onReceive((from, payload) => network.send(from, payload));
process.stdout.write(`port ${network.address.port}\n`);
process.stdin.resume();
process.stdin.on('end', () => void network.close().then(() => process.exit(0)));
