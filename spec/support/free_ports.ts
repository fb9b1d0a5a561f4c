// Loopback ports for the servers the specs start.
import net, { type AddressInfo } from 'node:net';

/** Whether 127.0.0.1:`port` can be listened on right now. */
export async function isPortFree(port: number): Promise<boolean> {
  const server = net.createServer();
  try {
    await listen(server, port);
    return true;
  } catch {
    return false;
  } finally {
    server.close();
  }
}

/** Ports the OS says are free on 127.0.0.1, all different and not in `taken`. */
export async function freePorts(count: number, taken: number[]): Promise<number[]> {
  const servers: net.Server[] = [];
  const ports: number[] = [];
  try {
    while (ports.length < count) {
      const server = net.createServer();
      servers.push(server);
      await listen(server, 0);
      const { port } = server.address() as AddressInfo;
      if (!taken.includes(port)) ports.push(port);
    }
    return ports;
  } finally {
    for (const server of servers) server.close();
  }
}

function listen(server: net.Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
}
