/**
 * The user a container of an image runs as, by docker's (runc's
 * GetExecUser) rules: `user[:group]`, each a name or a number; names come
 * from the image's own /etc/passwd and /etc/group, read through its layers;
 * without an explicit group, the user's supplementary groups are those that
 * list it as a member.
 */
import { readImageFile } from './layer-read.js';
import { ImageUserNotFoundError } from './use-errors.js';

export interface ExecUser {
  uid: number;
  gid: number;
  additionalGids: number[];
  /** The user's home from passwd ('/' when unknown), for HOME. */
  home: string;
}

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

/** Linux IDs are unsigned 32-bit, and (uint32)-1 means "no change" to the kernel. */
const MAX_ID = 0xfffffffe;

function parseId(text: string): number | undefined {
  if (!/^\d{1,10}$/.test(text)) return undefined;
  const id = Number(text);
  return id <= MAX_ID ? id : undefined;
}

function fields(text: string | undefined, minimum: number): string[][] {
  return (text ?? '')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => line.split(':'))
    .filter((parts) => parts.length >= minimum);
}

export function parsePasswd(text: string | undefined): PasswdEntry[] {
  const entries: PasswdEntry[] = [];
  for (const [name, , uid, gid, , home] of fields(text, 4)) {
    const parsedUid = parseId(uid!);
    const parsedGid = parseId(gid!);
    if (parsedUid === undefined || parsedGid === undefined) continue;
    entries.push({ name: name!, uid: parsedUid, gid: parsedGid, home: home || '/' });
  }
  return entries;
}

export function parseGroup(text: string | undefined): GroupEntry[] {
  const entries: GroupEntry[] = [];
  for (const [name, , gid, members] of fields(text, 3)) {
    const parsedGid = parseId(gid!);
    if (parsedGid === undefined) continue;
    const list = (members ?? '').split(',').filter(Boolean);
    entries.push({ name: name!, gid: parsedGid, members: list });
  }
  return entries;
}

/**
 * Resolves `spec` against the passwd and group files' text (pure: the
 * caller reads the files). Empty spec: root.
 */
export function resolveUserFrom(
  spec: string,
  passwdText: string | undefined,
  groupText: string | undefined,
): ExecUser {
  const colon = spec.indexOf(':');
  const userArg = colon >= 0 ? spec.slice(0, colon) : spec;
  const groupArg = colon >= 0 ? spec.slice(colon + 1) : '';
  if (colon >= 0 && (userArg === '' || groupArg === ''))
    throw new ImageUserNotFoundError(
      spec,
      'expected user[:group], with both parts when a colon is there',
    );
  const uidArg = parseId(userArg);
  if (userArg !== '' && uidArg === undefined && /^\d+$/.test(userArg))
    throw new ImageUserNotFoundError(spec, `uid ${userArg} is out of range`);

  const passwd = parsePasswd(passwdText);
  const matched =
    userArg === ''
      ? passwd.find((u) => u.uid === 0)
      : passwd.find((u) => u.name === userArg || (uidArg !== undefined && u.uid === uidArg));
  if (!matched && uidArg === undefined && userArg !== '')
    throw new ImageUserNotFoundError(userArg, 'no matching entries in passwd file');
  const user: ExecUser = {
    uid: matched?.uid ?? uidArg ?? 0,
    gid: matched?.gid ?? 0,
    additionalGids: [],
    home: matched?.home ?? '/',
  };

  const groups = parseGroup(groupText);
  if (groupArg !== '') {
    const gidArg = parseId(groupArg);
    const group = groups.find(
      (g) => g.name === groupArg || (gidArg !== undefined && g.gid === gidArg),
    );
    if (!group && gidArg === undefined)
      throw new ImageUserNotFoundError(groupArg, 'no matching entries in group file');
    user.gid = group?.gid ?? gidArg!;
  }
  // The primary group is among the supplementary ones (as containerd does, and a login);
  // the groups listing the user only in the implicit form, as runc.
  const members =
    groupArg === '' && matched
      ? groups.filter((g) => g.members.includes(matched.name)).map((g) => g.gid)
      : [];
  user.additionalGids = [...new Set([user.gid, ...members])];
  return user;
}

/** Resolves `spec` with the image's /etc/passwd and /etc/group, read through `layers` (lowest first). */
export async function resolveImageUser(layers: readonly string[], spec: string): Promise<ExecUser> {
  // Numbers alone need no files; docker still reads them, for the home and the groups.
  const [passwd, group] = await Promise.all([
    readImageFile(layers, '/etc/passwd'),
    readImageFile(layers, '/etc/group'),
  ]);
  return resolveUserFrom(spec, passwd, group);
}
