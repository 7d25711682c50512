# bash completion for mcpgw: commands and options (asked of the mcpgw being completed, through its
# --help, so that they never drift from the program; a fixed list when it cannot be run), and server
# names (from `mcpgw check --list-servers`, with the -c FILE of the line being completed).
# `make install` puts it in $(PREFIX)/share/bash-completion/completions/mcpgw; or source it from
# ~/.bashrc.

_mcpgw_commands()
{
	local list
	list=$("${COMP_WORDS[0]}" --help 2>/dev/null | sed -n 's/^  mcpgw \([a-z][a-z-]*\) .*/\1/p')
	echo "${list:-run check tools doctor login logout pin version help}"
}

# The long options of one command, from its --help (a fixed list when mcpgw cannot be run).
_mcpgw_options()
{
	local list
	list=$("${COMP_WORDS[0]}" "$1" --help 2>/dev/null | grep -o -- '--[a-z][a-z-]*' | sort -u)
	if [[ -z $list ]]; then
		case $1 in
		check) list="--strict --list-servers --explain --client" ;;
		tools) list="--all --json" ;;
		pin) list="--accept --export --force" ;;
		esac
	fi
	echo "$list"
}

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
	local common="-c --config --system-policy -v --verbose -h --help -V --version"

	((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
	# the command: the first word that is neither an option nor an option's value
	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		-c | --config | --system-policy | --accept | --export | --explain | --client) ((i++)) ;;
		-*) ;;
		*) cmd=${COMP_WORDS[i]}; break ;;
		esac
	done
	case $prev in
	-c | --config | --system-policy | --export)
		compopt -o filenames 2>/dev/null
		COMPREPLY=($(compgen -f -- "$cur"))
		return
		;;
	--accept)
		COMPREPLY=($(compgen -W "$(_mcpgw_servers)" -- "$cur"))
		return
		;;
	--explain)
		# SERVER/ then the tool's name, which only the server knows
		compopt -o nospace 2>/dev/null
		COMPREPLY=($(compgen -W "$(_mcpgw_servers | sed 's|$|/|')" -- "$cur"))
		return
		;;
	--client)
		COMPREPLY=($(compgen -W "user: uid: token:" -- "$cur"))
		compopt -o nospace 2>/dev/null
		return
		;;
	esac
	if [[ $cur == -* ]]; then
		[[ -n $cmd ]] && opts=$(_mcpgw_options "$cmd")
		COMPREPLY=($(compgen -W "$(printf '%s\n' $common $opts | sort -u)" -- "$cur"))
	elif [[ -z $cmd || $cmd == help ]]; then
		COMPREPLY=($(compgen -W "$(_mcpgw_commands)" -- "$cur"))
	elif [[ $cmd == doctor || $cmd == login || $cmd == logout ]]; then
		COMPREPLY=($(compgen -W "$(_mcpgw_servers)" -- "$cur"))
	fi
}
complete -F _mcpgw mcpgw
