# bash completion for netdb(1)
# SPDX-License-Identifier: LGPL-2.1-or-later

_netdb()
{
    local cur prev words cword
    _init_completion -s || return

    local global_opts="--db --memory --json --help"
    local filter_tasks="--status --search"
    local filter_memories="--tag --any-tag --all-tag --source --pinned --unpinned --search"
    local window="--order --limit --offset"

    case $prev in
        --db|-d)
            _filedir -d
            return ;;
        --status)
            COMPREPLY=($(compgen -W "pending completed" -- "$cur"))
            return ;;
        --order|-o)
            COMPREPLY=($(compgen -W "id -id created -created updated -updated" -- "$cur"))
            return ;;
        --identity|-i)
            _filedir
            return ;;
        --limit|-n|--offset|--from|--search|-s|--tag|-t|--any-tag|--all-tag|--source|--listen|-l|--allow|-a|--where|-w)
            return ;;
    esac

    # The command path so far, skipping options and their values.
    local i group="" command="" nargs=0
    for ((i = 1; i < cword; i++)); do
        case ${words[i]} in
            --db|-d|--status|--order|-o|--limit|-n|--offset|--from|--search|-s|--tag|-t|--any-tag|--all-tag|--source|--identity|-i|--listen|-l|--allow|-a|--where|-w)
                ((i++)) ;;
            -*) ;;
            *)
                if [[ -z $group ]]; then
                    group=${words[i]}
                elif [[ -z $command ]]; then
                    command=${words[i]}
                else
                    ((nargs++))
                fi ;;
        esac
    done

    local opts=$global_opts
    if [[ -z $group ]]; then
        if [[ $cur == -* ]]; then
            COMPREPLY=($(compgen -W "$global_opts --version" -- "$cur"))
        else
            COMPREPLY=($(compgen -W "tasks memories collections records snapshot log node" -- "$cur"))
        fi
        return
    fi

    if [[ -z $command ]]; then
        local commands=""
        case $group in
            tasks) commands="add rename complete delete get list count watch" ;;
            memories) commands="store retag pin unpin delete get list count watch" ;;
            records) commands="list get count watch" ;;
            snapshot) commands="save restore" ;;
            log) commands="list append tail verify" ;;
            node) commands="keygen id serve follow" ;;
        esac
        if [[ $cur == -* ]]; then
            COMPREPLY=($(compgen -W "$global_opts" -- "$cur"))
        else
            COMPREPLY=($(compgen -W "$commands" -- "$cur"))
        fi
        return
    fi

    case $group/$command in
        tasks/list|tasks/watch) opts+=" $filter_tasks $window" ;;
        tasks/count) opts+=" $filter_tasks" ;;
        memories/list|memories/watch) opts+=" $filter_memories $window" ;;
        memories/count) opts+=" $filter_memories" ;;
        records/list|records/watch) opts+=" --where $window" ;;
        records/count) opts+=" --where" ;;
        memories/store) opts+=" --tag --source" ;;
        memories/retag) opts+=" --tag" ;;
        log/tail) opts+=" --from --follow" ;;
        node/keygen) opts+=" --identity --force" ;;
        node/id) opts+=" --identity" ;;
        node/serve) opts+=" --identity --listen --allow" ;;
        node/follow) opts+=" --identity --listen --forward-writes" ;;
        snapshot/save|snapshot/restore)
            if [[ $cur != -* ]]; then
                _filedir
                return
            fi ;;
    esac

    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$opts" -- "$cur"))
        [[ ${COMPREPLY-} == *= ]] && compopt -o nospace
    fi
} &&
    complete -F _netdb netdb
