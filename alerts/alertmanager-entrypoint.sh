#!/bin/sh
# compose's Alertmanager entrypoint: alerts/alertmanager.yml with the webhook URLs of
# PAGER_WEBHOOK_URL, TICKET_WEBHOOK_URL and WATCHDOG_WEBHOOK_URL put in literally (a URL's
# `&`, `|` or `\` stay as they are), then Alertmanager with the arguments given.
# Alertmanager 0.25 reads no environment and has no webhook `url_file`.
set -eu
template=${ALERTMANAGER_TEMPLATE:-/etc/alertmanager/alertmanager.yml}
config=${ALERTMANAGER_CONFIG:-/tmp/alertmanager.yml}
for variable in PAGER_WEBHOOK_URL TICKET_WEBHOOK_URL WATCHDOG_WEBHOOK_URL; do
  eval "url=\${$variable:-}"
  case $url in
    *[[:space:]\"\']*|'') ok=no ;;
    http://?*|https://?*) ok=yes ;;
    *) ok=no ;;
  esac
  if [ "$ok" = no ]; then
    echo "alertmanager: $variable must be an http:// or https:// URL without spaces or quotes," \
      "got '$url'" >&2
    exit 64
  fi
done
# Literal replacement (awk's gsub and sed would read `&` and `\` in the URL).
awk '
function swap(line, from, to,    at, out) {
  out = ""
  while ((at = index(line, from)) > 0) {
    out = out substr(line, 1, at - 1) to
    line = substr(line, at + length(from))
  }
  return out line
}
# Single-quoted in the YAML, where no character but the quote (refused above) is special.
{
  q = "\047"
  $0 = swap($0, "http://alert-sink:9099/hooks/pager", q ENVIRON["PAGER_WEBHOOK_URL"] q)
  $0 = swap($0, "http://alert-sink:9099/hooks/ticket", q ENVIRON["TICKET_WEBHOOK_URL"] q)
  $0 = swap($0, "http://alert-sink:9099/hooks/watchdog", q ENVIRON["WATCHDOG_WEBHOOK_URL"] q)
  print
}' "$template" > "$config"
exec "${ALERTMANAGER_BIN:-/bin/alertmanager}" --config.file="$config" "$@"
