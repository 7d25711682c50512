# bash completion for mcpgw: commands, options, and server names (from `mcpgw check --list-servers`,
# with the -c FILE of the line being completed). `make install` puts it in
# $(PREFIX)/share/bash-completion/completions/mcpgw; or source it from ~/.bashrc.

_mcpgw_servers()
{
	local i cfg=()
	for ((i = 1; i < ${#COMP_WORDS[@]} - 1; i++)); do
		case ${COMP_WORDS[i]} in
		-c | --config) cfg=(-c "${COMP_WORDS[i + 1]}") ;;
		--config=*) cfg=("${COMP_WORDS[i]}") ;;
		--system-policy) cfg+=(--system-policy "${COMP_WORDS[i + 1]}") ;;
		esac
	done
	"${COMP_WORDS[0]}" check "${cfg[@]}" --list-servers 2>/dev/null
}

_mcpgw()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev= cmd= i opts=
	local commands="run check tools doctor login logout pin version help"
	local common="-c --config --system-policy -v --verbose -h --help -V --version"

	((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
	# the command: the first word that is neither an option nor an option's value
	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		-c | --config | --system-policy | --accept) ((i++)) ;;
		-*) ;;
		*) cmd=${COMP_WORDS[i]}; break ;;
		esac
	done
	case $prev in
	-c | --config | --system-policy)
		compopt -o filenames 2>/dev/null
		COMPREPLY=($(compgen -f -- "$cur"))
		return
		;;
	--accept)
		COMPREPLY=($(compgen -W "$(_mcpgw_servers)" -- "$cur"))
		return
		;;
	esac
	case $cmd in
	check) opts="--strict --list-servers" ;;
	tools) opts="--all --json" ;;
	pin) opts="--accept" ;;
	esac
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$common $opts" -- "$cur"))
	elif [[ -z $cmd ]]; then
		COMPREPLY=($(compgen -W "$commands" -- "$cur"))
	elif [[ $cmd == help ]]; then
		COMPREPLY=($(compgen -W "$commands" -- "$cur"))
	elif [[ $cmd == doctor || $cmd == login || $cmd == logout ]]; then
		COMPREPLY=($(compgen -W "$(_mcpgw_servers)" -- "$cur"))
	fi
}
complete -F _mcpgw mcpgw
