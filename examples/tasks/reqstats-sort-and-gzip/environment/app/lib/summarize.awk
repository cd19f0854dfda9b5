# Aggregate access-log lines per path. Run with -F'"': in nginx's "timed" format,
#   $1  client, ident, user, [time]
#   $2  the request line: METHOD PATH PROTOCOL
#   $3  status and body bytes
#   $NF the request time in seconds
# Output: path, requests, 5xx responses, mean request time in ms (tab-separated).

{
    split($2, request, " ")
    path = request[2]
    # Malformed requests are logged as "-" (e.g. 400s): nothing to attribute them to.
    if (path == "") next
    sub(/\?.*/, "", path)
    split($3, response, " ")
    requests[path]++
    if (response[1] >= 500) errors[path]++
    seconds[path] += $NF
}

END {
    for (path in requests) {
        printf "%s\t%d\t%d\t%.1f\n", path, requests[path], errors[path] + 0,
            seconds[path] * 1000 / requests[path]
    }
}
