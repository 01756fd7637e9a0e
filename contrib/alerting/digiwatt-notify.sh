#!/bin/sh
# collectd-digiwatt: a NotificationExec handler for collectd's exec plugin.
#
# Usage (see notify-exec.conf):
#   NotificationExec "nobody:nogroup" "/path/digiwatt-notify.sh" "/path/alerts.log"
#
# collectd writes one notification to standard input: "Key: value" header
# lines (Severity, Time, Host, Plugin, PluginInstance, Type, TypeInstance,
# and for thresholds DataSource, CurrentValue, WarningMin/Max,
# FailureMin/Max), an empty line, then the message. This script appends
# one line per notification to the file given as $1:
#
#   2026-11-25T17:50:23Z FAILURE myhost/digiwatt-home/digiwatt_cost-costs-this-month value=103.5 message="..."
#
# Neither the plugin's notifications nor collectd's ever carry the client
# secret or a token.
set -eu

out=${1:?usage: digiwatt-notify.sh LOGFILE}
severity='' time='' host='' plugin='' pinst='' type='' tinst='' value=''

while IFS= read -r line; do
  [ -n "$line" ] || break
  value_of=${line#*: }
  case $line in
    Severity:*) severity=$value_of ;;
    Time:*) time=$value_of ;;
    Host:*) host=$value_of ;;
    Plugin:*) plugin=$value_of ;;
    PluginInstance:*) pinst=$value_of ;;
    Type:*) type=$value_of ;;
    TypeInstance:*) tinst=$value_of ;;
    CurrentValue:*) value=$value_of ;;
  esac
done
# The message: the rest of the input, on one line, without quotes.
message=$(tr -s '\n\r\t"' '    ' | sed 's/ *$//')

ident=$host/$plugin${pinst:+-$pinst}/$type${tinst:+-$tinst}
when=$(date -u -d "@${time%%.*}" +%Y-%m-%dT%H:%M:%SZ 2>/dev/null || echo "$time")
printf '%s %s %s%s message="%s"\n' "$when" "${severity:-UNKNOWN}" "$ident" \
  "${value:+ value=$value}" "$message" >>"$out"
