// Part of the driver contract (driver.ts): what a driver and provisioning exchange about an engine
// whose files go onto the machine before its first boot. Drivers never import provision/.

/**
 * An engine whose files went onto the machine before its first boot (the qemu driver puts them on
 * its seed volume), so that it starts at boot with TLS instead of after provisioning: under
 * software emulation an engine start takes 20 s and more. The files are the ones provisioning
 * would install, byte for byte; provisioning then checks that they are there and keeps them.
 */
export interface SeededEngine {
  files: SeededFile[];
}

export interface SeededFile {
  /** Absolute path on the machine. */
  path: string;
  /** Octal, as chmod takes it. */
  mode: string;
  content: string;
}

/** What a driver tells about the engine of its image, so that the seeded drop-in fits it. */
export interface EngineSeedRequest {
  /** The address the driver reports (the server certificate names it) and its extra names. */
  ip: string;
  certSANs: string[];
  /** The port dockerd listens on in the machine. */
  port: number;
  /** Where the image's dockerd is, and whether its docker.socket hands over the unix socket. */
  dockerd: string;
  socketActivated: boolean;
}
