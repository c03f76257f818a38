// The address book of the real network: where each host listens (HostId -> host:port).
import type { HostId } from '../env/index.ts';

/** A TCP listening address. */
export interface PeerAddress {
  readonly host: string;
  readonly port: number;
}

/** A mutable map from host to address; the transport reads it at each (re)connect. */
export class AddressBook {
  private readonly addresses = new Map<HostId, PeerAddress>();

  constructor(entries: Iterable<readonly [HostId, PeerAddress]> = []) {
    for (const [id, address] of entries) this.set(id, address);
  }

  get(id: HostId): PeerAddress | undefined {
    return this.addresses.get(id);
  }

  set(id: HostId, address: PeerAddress): void {
    if (!Number.isInteger(address.port) || address.port < 1 || address.port > 65_535) {
      throw new RangeError(`address of ${id}: port must be 1..65535, got ${address.port}`);
    }
    this.addresses.set(id, { host: address.host, port: address.port });
  }

  delete(id: HostId): void {
    this.addresses.delete(id);
  }

  hosts(): HostId[] {
    return [...this.addresses.keys()].sort();
  }
}
