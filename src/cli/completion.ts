/**
 * Bash completion, generated from the command tree itself: commands and
 * their options at every level, and container ids (from `berth containers
 * list -q`) where a command takes them.
 */
import type { CommandUnknownOpts } from '@commander-js/extra-typings';

/** Commands (by path) whose arguments are container ids. */
const TAKES_IDS = new Set([
  'containers state',
  'containers kill',
  'containers pause',
  'containers resume',
  'containers update',
  'containers stats',
  'containers watch',
  'checkpoints',
  'checkpoints list',
  'checkpoints create',
  'checkpoints delete',
  'state',
]);
/** Options whose value is a container id. */
const ID_OPTIONS = ['--id'];

interface Level {
  path: string;
  commands: string[];
  options: string[];
}

function isHidden(command: CommandUnknownOpts): boolean {
  return (command as unknown as { _hidden?: boolean })._hidden === true;
}

/** Every command path (aliases as paths of their own), with its subcommands and options. */
function levels(command: CommandUnknownOpts, path = ''): Level[] {
  const visible = command.commands.filter((c) => !isHidden(c));
  const options = command.options
    .filter((o) => !o.hidden)
    .flatMap((o) => [o.short, o.long].filter((f): f is string => !!f));
  const own: Level = {
    path,
    commands: visible.flatMap((c) => [c.name(), ...c.aliases()]),
    options: [...options, '--help'],
  };
  const below = visible.flatMap((c) =>
    [c.name(), ...c.aliases()].flatMap((name) => levels(c, path ? `${path} ${name}` : name)),
  );
  return [own, ...below];
}

/** `containers ls` takes ids if `containers list` does: the canonical path of an alias path. */
function takesIds(program: CommandUnknownOpts, path: string): boolean {
  let command: CommandUnknownOpts | undefined = program;
  const names: string[] = [];
  for (const word of path.split(' ').filter(Boolean)) {
    command = command?.commands.find((c) => c.name() === word || c.aliases().includes(word));
    if (!command) return false;
    names.push(command.name());
  }
  return TAKES_IDS.has(names.join(' '));
}

export function bashCompletion(program: CommandUnknownOpts): string {
  const all = levels(program);
  const cases = all
    .map(
      (level) =>
        `    "${level.path}") cmds="${level.commands.join(' ')}"; opts="${level.options.join(' ')}"; ids=${takesIds(program, level.path) ? 1 : 0} ;;`,
    )
    .join('\n');
  const known = `|${all.map((l) => l.path).join('|')}|`;
  return `# bash completion for berth: source it, or put it in /etc/bash_completion.d/berth
#   source <(berth completion bash)
_berth() {
  local cur prev path="" next w i cmds opts ids
  local known="${known}"
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev="\${COMP_WORDS[COMP_CWORD-1]}"
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    [[ $w == -- ]] && return 0
    [[ $w == -* ]] && continue
    next="\${path:+$path }$w"
    [[ $known == *"|$next|"* ]] && path=$next
  done
  case "$path" in
${cases}
    *) return 0 ;;
  esac
  case "$prev" in
    ${ID_OPTIONS.join('|')}) COMPREPLY=($(compgen -W "$(berth containers list -q 2>/dev/null)" -- "$cur")); return 0 ;;
  esac
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$opts" -- "$cur"))
  elif [[ -n $cmds ]]; then
    COMPREPLY=($(compgen -W "$cmds" -- "$cur"))
  elif ((ids)); then
    COMPREPLY=($(compgen -W "$(berth containers list -q 2>/dev/null)" -- "$cur"))
  else
    COMPREPLY=($(compgen -f -- "$cur"))
  fi
}
complete -F _berth berth
`;
}
