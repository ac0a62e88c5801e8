import { MachineError } from '../../errors.js';
import type { ComputeAPI, Image } from './api.js';

/**
 * --google-machine-image as users write it: a URL (https://www.googleapis.com/compute/v1/projects/
 * P/global/images/NAME, or …/images/family/FAMILY), projects/P/global/images/…, P/global/images/…,
 * P/NAME-OR-FAMILY, or a bare image or family name, looked up in the machine's project and then in
 * the public image project its name points to (ubuntu-… in ubuntu-os-cloud). The original sent the
 * value on as part of a URL, so a bare name failed at insert with "The URL is malformed".
 */
export type ImageRef =
  | { kind: 'name'; project: string; name: string }
  | { kind: 'family'; project: string; family: string }
  | { kind: 'either'; project: string; word: string }
  | { kind: 'bare'; word: string };

const NAME = '[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?';
// Project ids, including the domain-scoped ones of old (example.com:my-project).
const PROJECT = '[a-z][-a-z0-9.:]{2,62}[a-z0-9]';
const PATH = new RegExp(
  `^(?:(?:https?://[^/]+)?/?(?:compute/(?:v1|beta|alpha)/)?projects/)?(${PROJECT})/global/images/(family/)?(${NAME})$`,
);
/** global/images/…: an image of the machine's own project. */
const OWN = new RegExp(`^global/images/(family/)?(${NAME})$`);
const SHORT = new RegExp(`^(${PROJECT})/(${NAME})$`);
const BARE = new RegExp(`^${NAME}$`);

export const IMAGE_FORMS =
  'give https://www.googleapis.com/compute/v1/projects/PROJECT/global/images/NAME, PROJECT/global/images/NAME, PROJECT/global/images/family/FAMILY, PROJECT/FAMILY or a family name such as ubuntu-2404-lts-amd64';

/** The reference (project '' for the machine's own), or a line saying what is wrong with it. */
export function parseImage(value: string): ImageRef | string {
  const v = value.trim();
  const own = OWN.exec(v);
  if (own)
    return own[1]
      ? { kind: 'family', project: '', family: own[2] }
      : { kind: 'name', project: '', name: own[2] };
  const path = PATH.exec(v);
  if (path)
    return path[2]
      ? { kind: 'family', project: path[1], family: path[3] }
      : { kind: 'name', project: path[1], name: path[3] };
  const short = SHORT.exec(v);
  if (short) return { kind: 'either', project: short[1], word: short[2] };
  if (BARE.test(v)) return { kind: 'bare', word: v };
  return `--google-machine-image ${JSON.stringify(value)} is not an image reference Compute Engine takes; ${IMAGE_FORMS}`;
}

/** The public image projects an image or family name belongs to, from how the name begins. */
export function publicProjects(word: string): string[] {
  const table: [RegExp, string][] = [
    [/^ubuntu-pro-/, 'ubuntu-os-pro-cloud'],
    [/^ubuntu-/, 'ubuntu-os-cloud'],
    [/^debian-/, 'debian-cloud'],
    [/^cos-/, 'cos-cloud'],
    [/^centos-/, 'centos-cloud'],
    [/^rhel-/, 'rhel-cloud'],
    [/^rocky-linux-/, 'rocky-linux-cloud'],
    [/^(sles|opensuse)-/, 'suse-cloud'],
    [/^fedora-coreos-/, 'fedora-coreos-cloud'],
    [/^windows-/, 'windows-cloud'],
  ];
  return table.filter(([re]) => re.test(word)).map(([, p]) => p);
}

export interface ResolvedImage {
  image: Image;
  project: string;
  /** `projects/P/global/images/NAME`: the exact image the disk is made from. */
  source: string;
}

/** The image itself, or a line naming what was looked for and where. */
export async function resolveImage(api: ComputeAPI, value: string): Promise<ResolvedImage> {
  const ref = parseImage(value);
  if (typeof ref === 'string') throw new MachineError(ref);
  const q = encodeURIComponent;
  const byName = (project: string, name: string) =>
    api.find<Image>(`projects/${q(project)}/global/images/${q(name)}`);
  const byFamily = (project: string, family: string) =>
    api.find<Image>(`projects/${q(project)}/global/images/family/${q(family)}`);
  const done = (image: Image, project: string): ResolvedImage => ({
    image,
    project,
    source: `projects/${project}/global/images/${image.name}`,
  });
  if ((ref.kind === 'name' || ref.kind === 'family') && !ref.project) ref.project = api.project;
  switch (ref.kind) {
    case 'name': {
      const img = await byName(ref.project, ref.name);
      if (img) return done(img, ref.project);
      throw new MachineError(
        `image ${ref.name} does not exist in project ${ref.project}; see gcloud compute images list --project ${ref.project}, or give a family (${ref.project}/global/images/family/FAMILY)`,
      );
    }
    case 'family': {
      const img = await byFamily(ref.project, ref.family);
      if (img) return done(img, ref.project);
      throw new MachineError(
        `image family ${ref.family} has no image in project ${ref.project}; see gcloud compute images list --project ${ref.project}`,
      );
    }
    case 'either':
    case 'bare': {
      const word = ref.word;
      const projects = ref.kind === 'either' ? [ref.project] : [api.project, ...publicProjects(word)];
      for (const project of [...new Set(projects)]) {
        const img = (await byName(project, word)) ?? (await byFamily(project, word));
        if (img) return done(img, project);
      }
      throw new MachineError(
        `no image or image family named ${word} in project${projects.length > 1 ? 's' : ''} ${[...new Set(projects)].join(', ')}; ${IMAGE_FORMS}`,
      );
    }
  }
}
