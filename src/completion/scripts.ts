/**
 * The completion scripts `docker-machine completion SHELL` prints. Each is thin: it hands the
 * words typed so far to `docker-machine __complete` (./candidates.ts) and offers what comes back;
 * when nothing does, the shell's own file completion applies (scp paths, -s folders).
 */

const bash = `# bash completion for docker-machine.
# Load it now:            source <(docker-machine completion bash)
# Or for every session:   docker-machine completion bash > ~/.local/share/bash-completion/completions/docker-machine
_docker_machine_complete() {
  local IFS=$'\\n'
  COMPREPLY=($("\${COMP_WORDS[0]}" __complete bash "$((COMP_CWORD - 1))" "\${COMP_WORDS[@]:1}" 2>/dev/null))
}
complete -o default -F _docker_machine_complete docker-machine
`;

const zsh = `#compdef docker-machine
# zsh completion for docker-machine.
# Load it now (after compinit):  source <(docker-machine completion zsh)
# Or for every session:          docker-machine completion zsh > "\${fpath[1]}/_docker-machine"
_docker_machine() {
  local -a found
  found=("\${(@f)$("\${words[1]}" __complete zsh "$((CURRENT - 2))" "\${(@)words[2,-1]}" 2>/dev/null)}")
  if (( \${#found} )) && [[ -n "\${found[1]}" ]]; then
    compadd -Q -- "\${found[@]}"
  else
    _files
  fi
}
if [[ "\${zsh_eval_context[-1]}" == loadautofunc ]]; then
  _docker_machine "$@"
else
  compdef _docker_machine docker-machine
fi
`;

const fish = `# fish completion for docker-machine.
# Load it now:            docker-machine completion fish | source
# Or for every session:   docker-machine completion fish > ~/.config/fish/completions/docker-machine.fish
function __docker_machine_complete
    set -l words (commandline -opc)
    set -l current (commandline -ct)
    set -l found ($words[1] __complete fish (math (count $words) - 1) $words[2..-1] $current 2>/dev/null)
    if test (count $found) -gt 0
        printf '%s\\n' $found
    else
        __fish_complete_path $current
    end
end
complete -c docker-machine -f -a '(__docker_machine_complete)'
`;

export const COMPLETION_SCRIPTS: Record<string, string> = { bash, zsh, fish };
