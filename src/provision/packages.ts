/**
 * The package managers provisioners drive, as the remote commands each one needs: install the
 * engine, list the versions its sources hold, install one exact version, upgrade, and say which
 * package owns a file. Commands take the sudo prefix ('' for root).
 */

export interface AvailableVersion {
  version: string;
  /** Where the package manager found it (a repository or a source line). */
  source: string;
}

export interface PackageManager {
  readonly name: string;
  install(sudo: string, pkgs: string[]): string;
  /** Before listing versions: bring the package lists up to date (apt, pacman). */
  refresh?(sudo: string): string;
  listVersions(pkg: string): string;
  parseVersions(out: string, pkg: string): AvailableVersion[];
  installExact(sudo: string, pkg: string, version: string): string;
  upgrade(sudo: string, pkg: string): string;
  /** Prints the name of the package that owns the file. */
  owner(path: string): string;
  parseOwner(out: string): string | null;
  /** Prints where the package manager looks (for errors that must say so). */
  sources(): string;
  parseSources(out: string): string[];
}

export function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(s) ? s : `'${s.replaceAll("'", "'\\''")}'`;
}

const lines = (out: string) =>
  out
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');

const unique = (xs: string[]) => [...new Set(xs)];

const rpmOwner = (path: string) => `rpm -qf --queryformat '%{NAME}\\n' ${path}`;
const firstWord = (out: string) => {
  const l = lines(out)[0];
  return l && !/\s/.test(l) && !/not owned|no package/i.test(l) ? l : null;
};

const APT_ENV = 'env DEBIAN_FRONTEND=noninteractive';
/** Keep the machine's own config files when a package ships a new version of one. */
const APT_KEEP_CONFIG = '-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold';

export const apt: PackageManager = {
  name: 'apt',
  install: (sudo, pkgs) =>
    `${sudo}${APT_ENV} sh -c 'apt-get update -q && apt-get install -y -q ${pkgs.join(' ')}'`,
  refresh: (sudo) => `${sudo}apt-get update -q`,
  listVersions: (pkg) => `apt-cache madison ${pkg}`,
  // " docker.io | 20.10.24+dfsg1-1+b3 | http://deb.debian.org/debian bookworm/main amd64 Packages"
  parseVersions: (out, pkg) =>
    lines(out).flatMap((l) => {
      const [name, version, source] = l.split('|').map((p) => p.trim());
      return name === pkg && version && source ? [{ version, source }] : [];
    }),
  installExact: (sudo, pkg, version) =>
    `${sudo}${APT_ENV} apt-get install -y -q --allow-downgrades ${APT_KEEP_CONFIG} ${shellQuote(`${pkg}=${version}`)}`,
  upgrade: (sudo, pkg) =>
    `${sudo}${APT_ENV} sh -c 'apt-get update -q && apt-get install -y -q --only-upgrade ${APT_KEEP_CONFIG} ${pkg}'`,
  owner: (path) => `dpkg-query -S ${path}`,
  // "docker.io: /usr/sbin/dockerd"
  parseOwner: (out) => {
    const m = /^([^:\s,]+)(?::\S+)?: \//m.exec(out);
    return m ? m[1] : null;
  },
  sources: () => 'apt-cache policy',
  // "     500 http://deb.debian.org/debian bookworm/main amd64 Packages"
  parseSources: (out) => unique(lines(out).flatMap((l) => /^-?\d+ (\S+:\/\/.*)$/.exec(l)?.slice(1, 2) ?? [])),
};

/** dnf (Fedora, EL 8 and later, Amazon Linux 2023) and yum (EL 7, Amazon Linux 2). */
function rpmManager(tool: 'dnf' | 'yum'): PackageManager {
  return {
    name: tool,
    install: (sudo, pkgs) => `${sudo}${tool} install -y ${pkgs.join(' ')}`,
    listVersions: (pkg) => `${tool} list --showduplicates -q ${pkg}`,
    // "moby-engine.x86_64   24.0.5-1.fc38   updates" ("@updates" is the installed one)
    parseVersions: (out, pkg) =>
      lines(out).flatMap((l) => {
        const [name, version, repo] = l.split(/\s+/);
        if (!repo || !name.startsWith(`${pkg}.`)) return [];
        return [{ version, source: repo.replace(/^@/, '') }];
      }),
    installExact: (sudo, pkg, version) =>
      `${sudo}${tool} install -y ${tool === 'dnf' ? '--allowerasing ' : ''}${shellQuote(`${pkg}-${version}`)}`,
    upgrade: (sudo, pkg) => `${sudo}${tool} ${tool === 'dnf' ? 'upgrade' : 'update'} -y ${pkg}`,
    owner: rpmOwner,
    parseOwner: firstWord,
    sources: () => `${tool} repolist -q`,
    parseSources: (out) =>
      lines(out)
        .filter((l) => !/^repo id\b/i.test(l))
        .map((l) => l.split(/\s+/)[0]),
  };
}

export const dnf = rpmManager('dnf');
export const yum = rpmManager('yum');

export const zypper: PackageManager = {
  name: 'zypper',
  install: (sudo, pkgs) => `${sudo}zypper -n in ${pkgs.join(' ')}`,
  listVersions: (pkg) => `zypper -n -q se -s --match-exact ${pkg}`,
  // "v  | docker | package | 24.0.7_ce-150000.190.4 | x86_64 | SLE-Module-Containers15-SP5-Updates"
  parseVersions: (out, pkg) =>
    lines(out).flatMap((l) => {
      const cols = l.split('|').map((c) => c.trim());
      if (cols.length < 6 || cols[1] !== pkg || cols[2] !== 'package') return [];
      return [{ version: cols[3], source: cols[5] }];
    }),
  installExact: (sudo, pkg, version) => `${sudo}zypper -n in --oldpackage ${shellQuote(`${pkg}=${version}`)}`,
  upgrade: (sudo, pkg) => `${sudo}zypper -n up ${pkg}`,
  owner: rpmOwner,
  parseOwner: firstWord,
  sources: () => 'zypper -n -q lr -E',
  parseSources: (out) =>
    lines(out).flatMap((l) => {
      const cols = l.split('|').map((c) => c.trim());
      return cols.length > 2 && /^\d+$/.test(cols[0]) ? [cols[1]] : [];
    }),
};

const PACMAN = '--noconfirm --noprogressbar';

/** Arch holds one version of a package: a pin is honoured when the repository has that one. */
export const pacman: PackageManager = {
  name: 'pacman',
  install: (sudo, pkgs) => `${sudo}pacman -Sy ${PACMAN} ${pkgs.join(' ')}`,
  refresh: (sudo) => `${sudo}pacman -Sy ${PACMAN}`,
  listVersions: (pkg) => `pacman -Si ${pkg}`,
  // "Repository      : extra" ... "Version         : 1:24.0.7-1"
  parseVersions: (out) => {
    const found: AvailableVersion[] = [];
    let repo = '';
    for (const l of lines(out)) {
      const m = /^(Repository|Version)\s*:\s*(\S+)/.exec(l);
      if (m?.[1] === 'Repository') repo = m[2];
      else if (m?.[1] === 'Version') found.push({ version: m[2], source: repo });
    }
    return found;
  },
  installExact: (sudo, pkg) => `${sudo}pacman -S ${PACMAN} ${pkg}`,
  upgrade: (sudo, pkg) => `${sudo}pacman -Sy ${PACMAN} ${pkg}`,
  owner: (path) => `pacman -Qoq ${path}`,
  parseOwner: firstWord,
  sources: () => 'pacman-conf --repo-list',
  parseSources: lines,
};
