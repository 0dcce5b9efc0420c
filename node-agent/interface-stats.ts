// The wire layer of the counters: what the NIC itself received and dropped, read from
// sysfs (a few times per second at most; never per frame).
import fs from 'node:fs';

export interface InterfaceCounters {
  rxPackets: number;
  rxBytes: number;
  rxDropped: number;
}

function readCounter(iface: string, name: string): number {
  try {
    return Number(fs.readFileSync(`/sys/class/net/${iface}/statistics/${name}`, 'utf8').trim());
  } catch {
    return 0;
  }
}

export function readInterfaceCounters(iface: string): InterfaceCounters {
  return {
    rxPackets: readCounter(iface, 'rx_packets'),
    rxBytes: readCounter(iface, 'rx_bytes'),
    rxDropped: readCounter(iface, 'rx_dropped'),
  };
}
