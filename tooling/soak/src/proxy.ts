/**
 * A loopback TCP proxy whose connections can be made half-open: bytes stop flowing both ways
 * while both sockets stay open, the way a dead NAT or proxy behaves. The gateway's heartbeat
 * is what must notice.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

interface Link {
  client: Socket;
  upstream: Socket;
  isBlackholed: boolean;
}

export class HalfOpenProxy {
  private readonly links = new Set<Link>();
  private server: Server | null = null;
  port = 0;

  constructor(private readonly upstreamPort: number) {}

  async start(): Promise<void> {
    const server = createServer((client) => this.link(client));
    this.server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    this.port = typeof address === 'object' && address ? address.port : 0;
  }

  /** Stops forwarding on the newest live link; returns false when there is none. */
  blackholeNewest(): boolean {
    const link = [...this.links].reverse().find((candidate) => !candidate.isBlackholed);
    if (!link) return false;
    link.isBlackholed = true;
    link.client.pause();
    link.upstream.pause();
    // Bounded: the half-open pair is cut for good later, whatever the gateway did.
    setTimeout(() => this.drop(link), 10_000).unref();
    return true;
  }

  get blackholedCount(): number {
    return [...this.links].filter((link) => link.isBlackholed).length;
  }

  async stop(): Promise<void> {
    for (const link of this.links) this.drop(link);
    await new Promise<void>((resolve) =>
      this.server ? this.server.close(() => resolve()) : resolve(),
    );
  }

  private link(client: Socket): void {
    const upstream = connect(this.upstreamPort, '127.0.0.1');
    const link: Link = { client, upstream, isBlackholed: false };
    this.links.add(link);
    client.on('data', (chunk) => {
      if (!link.isBlackholed) upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      if (!link.isBlackholed) client.write(chunk);
    });
    const end = () => this.drop(link);
    for (const socket of [client, upstream]) {
      socket.on('error', () => {
        // A reset on either side ends the pair; nothing else to report.
      });
      socket.on('close', end);
    }
  }

  private drop(link: Link): void {
    if (!this.links.delete(link)) return;
    link.client.destroy();
    link.upstream.destroy();
  }
}
