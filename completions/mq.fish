# mq.fish - fish completion for mq and the mq-* commands.
#
# Completes each command's options, topic and group names read from the
# log directory the command would use (-d, else $MQ_DIR, else
# $XDG_DATA_HOME/mq, else ~/.local/share/mq), config keys for -c and -u,
# and the words options take.  make install puts it in fish's
# vendor_completions.d as mq.fish, with a link mq-COMMAND.fish per
# command, since fish loads completions by command name; whichever is
# loaded first defines them all.

if set -q __mq_completions_loaded
    return
end
set -g __mq_completions_loaded 1

# The log directory of the command line being completed.
function __mq_logdir
    set -l tokens (commandline -opc)
    set -l dir
    set -l i 2
    while test $i -le (count $tokens)
        switch $tokens[$i]
            case --
                break
            case -d --dir
                set i (math $i + 1)
                set -q tokens[$i]; and set dir $tokens[$i]
            case '--dir=*'
                set dir (string replace -- --dir= '' $tokens[$i])
            case '-d?*'
                set dir (string sub -s 3 -- $tokens[$i])
        end
        set i (math $i + 1)
    end
    if test -n "$dir"
        string replace -r -- '^~' $HOME $dir
    else if set -q MQ_DIR; and test -n "$MQ_DIR"
        echo $MQ_DIR
    else if string match -q -- '/*' "$XDG_DATA_HOME"
        echo $XDG_DATA_HOME/mq
    else
        echo $HOME/.local/share/mq
    end
end

# Topics are the directories of topics/ with a topic.yaml, groups those
# of groups/; legal names only, which leaves out mq's +new.*, +del.*.
function __mq_topics
    set -l dir (__mq_logdir)
    # * leaves out names that start with a dot; .* never gives . or ..
    for f in $dir/topics/*/topic.yaml $dir/topics/.*/topic.yaml
        string split -r -m2 -f2 / -- $f
    end | string match -r -- '^[A-Za-z0-9._-]+$'
end

function __mq_groups
    set -l dir (__mq_logdir)
    for d in $dir/groups/*/ $dir/groups/.*/
        string split -r -m2 -f2 / -- $d
    end | string match -r -- '^[A-Za-z0-9._-]+$'
end

# topic, or topic:partition once a : is typed.
function __mq_topic_parts
    set -l cur (commandline -ct)
    if string match -q -- '*:*' $cur
        set -l topic (string split -m1 : -- $cur)[1]
        set -l yaml (__mq_logdir)/topics/$topic/topic.yaml
        test -r $yaml; or return
        set -l n (string replace -r -f -- '^partitions:\s*(\d+).*' '$1' <$yaml)
        test -n "$n"; or return
        for p in (seq 0 (math $n - 1))
            echo $topic:$p
        end
    else
        __mq_topics
    end
end

function __mq_config_keys
    printf '%s\n' cleanup.policy delete.retention.ms flush.messages \
        flush.ms index.interval.bytes max.message.bytes \
        message.timestamp.type min.compaction.lag.ms retention.bytes \
        retention.ms segment.bytes segment.ms
end

# mq help lists each command and what it does.
function __mq_commands
    mq help 2>/dev/null | string replace -r -f -- '^   ([a-z-]+)\s+(.*)' '$1\t$2'
    printf 'help\tshow the commands, or a command\'s usage\n'
end

# mq COMMAND ...: the completions of mq-COMMAND ... .
function __mq_subcommand
    set -l tokens (commandline -opc)
    set -l cur (commandline -ct)
    set -e tokens[1]
    set tokens[1] mq-$tokens[1]
    complete -C (string join -- ' ' (string escape -- $tokens))" $cur"
end

function __mq_no_subcommand
    test (count (commandline -opc)) -eq 1
end

complete -c mq -f
complete -c mq -n __mq_no_subcommand -s h -l help -d 'print the usage and exit'
complete -c mq -n __mq_no_subcommand -s V -l version -d 'print the version and exit'
complete -c mq -n __mq_no_subcommand -a '(__mq_commands)'
complete -c mq -n '__fish_seen_subcommand_from help' -a '(__mq_commands)'
complete -c mq -n 'not __mq_no_subcommand; and not __fish_seen_subcommand_from help' \
    -a '(__mq_subcommand)'

# Options every command takes.
for c in mq-alter mq-check mq-clean mq-consume mq-create mq-delete \
    mq-dump mq-list mq-offsets mq-produce
    complete -c $c -f
    complete -c $c -s h -l help -d 'print the usage and exit'
    complete -c $c -s V -l version -d 'print the version and exit'
    complete -c $c -s d -l dir -x -a '(__fish_complete_directories)' \
        -d 'use this log directory'
end
for c in mq-alter mq-check mq-clean mq-consume mq-create mq-delete \
    mq-offsets mq-produce
    complete -c $c -s v -l verbose -d 'say more on standard error'
end

complete -c mq-alter -s c -l config -x -a '(__mq_config_keys)=' -d 'set a config'
complete -c mq-alter -s p -l partitions -x -d 'grow to this many partitions'
complete -c mq-alter -s u -l unset -x -a '(__mq_config_keys)' -d 'unset a config'
complete -c mq-alter -a '(__mq_topics)'

complete -c mq-check -l repair -d 'truncate torn tails and rebuild indexes'
complete -c mq-check -l force -d 'repair even what is not a torn tail'
complete -c mq-check -a '(__mq_topic_parts)'

complete -c mq-clean -s n -l dry-run -d 'say what would be done, do nothing'
complete -c mq-clean -l before -x -a end -d 'delete the records below an offset'
complete -c mq-clean -a '(__mq_topic_parts)'

complete -c mq-consume -s 0 -l null -d 'end records with NUL'
complete -c mq-consume -s f -l follow -d 'wait for new records, like tail -f'
complete -c mq-consume -s F -l format -x -d 'print records in a format'
complete -c mq-consume -s g -l group -x -a '(__mq_groups)' -d 'consume as a member of a group'
complete -c mq-consume -s j -l jobs -x -d 'commands at once, with --queue'
complete -c mq-consume -s J -l json -d 'print JSON envelopes'
complete -c mq-consume -s n -l count -x -d 'stop after this many records'
complete -c mq-consume -s o -l offset -x -a 'beginning end' -d 'start at an offset'
complete -c mq-consume -s p -l partition -x -d 'read one partition'
complete -c mq-consume -s R -l raw -d 'print length-framed records'
complete -c mq-consume -l dead-letter -x -a '(__mq_topics)' -d 'topic for archived records, with --queue'
complete -c mq-consume -l exec -x -a '(__fish_complete_command)' -d 'run a command per record'
complete -c mq-consume -l lock-timeout -x -d 'milliseconds a record is held, with --queue'
complete -c mq-consume -l max-deliveries -x -d 'deliveries before a record is archived, with --queue'
complete -c mq-consume -l queue -d 'take records one by one, as a share group member'
complete -c mq-consume -l retries -x -d 'tries per record for --exec'
complete -c mq-consume -l sync -x -a 'none batch always' -d 'how commits are synced'
complete -c mq-consume -a '(__mq_topics)'

complete -c mq-create -s c -l config -x -a '(__mq_config_keys)=' -d 'set a config'
complete -c mq-create -s p -l partitions -x -d 'number of partitions'
complete -c mq-create -l if-not-exists -d 'do not fail when a topic exists'

complete -c mq-delete -l if-exists -d 'do not fail when a topic does not exist'
complete -c mq-delete -a '(__mq_topics)'

complete -c mq-dump -s c -l verify-index -d 'check the indexes against the segments'
complete -c mq-dump -s i -l indexes -d 'show index entries'
complete -c mq-dump -s r -l records -d 'show each record'
complete -c mq-dump -l print-data-log -d 'show each record'
complete -c mq-dump -F -a '(__mq_topic_parts)'

complete -c mq-list -s J -l json -d 'print JSON'
complete -c mq-list -s l -l long -d 'describe each topic'
complete -c mq-list -a '(__mq_topics)'

complete -c mq-offsets -l delete-group -d 'delete the group'
complete -c mq-offsets -l dry-run -d 'show a reset, do not make it'
complete -c mq-offsets -l force -d 'reset or delete a group with live members'
complete -c mq-offsets -s g -l group -x -a '(__mq_groups)' -d 'show or change a group'
complete -c mq-offsets -l groups -d 'list the groups'
complete -c mq-offsets -s J -l json -d 'print JSON'
complete -c mq-offsets -l reset -x -a 'earliest latest' -d 'move the committed offsets'
complete -c mq-offsets -s t -l time -x -d 'offsets for a time'
complete -c mq-offsets -a '(__mq_topic_parts)'

complete -c mq-produce -s 0 -l null -d 'records end with NUL'
complete -c mq-produce -s D -l delimiter -x -d 'records end with a delimiter'
complete -c mq-produce -s H -l header -x -d 'add a header to each record'
complete -c mq-produce -s J -l json -d 'read JSON envelopes'
complete -c mq-produce -s K -l key-delimiter -x -d 'split a key off each record'
complete -c mq-produce -s l -l file-records -d 'one file is one record'
complete -c mq-produce -s p -l partition -x -d 'append to one partition'
complete -c mq-produce -l print-offsets -d 'print where each record went'
complete -c mq-produce -s R -l raw -d 'read length-framed records'
complete -c mq-produce -l sync -x -a 'none batch always' -d 'when to fsync'
complete -c mq-produce -n '__fish_is_nth_token 1' -a '(__mq_topics)'
complete -c mq-produce -n 'not __fish_is_nth_token 1' -F
