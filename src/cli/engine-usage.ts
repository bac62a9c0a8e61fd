// The engine commands' --help text (berth --help shows it too).
export const USAGE = `berth engine commands (images and containers by name; state under $BERTH_ENGINE_ROOT, default /var/lib/berth)

Images:
  pull IMAGE                  pull from a registry (--tls-verify=false for HTTP/self-signed registries)
  images [-q] [--format json] list images
  rmi [-f] IMAGE...           remove images
  load [-i FILE]              load a docker save or OCI archive (stdin without -i)
  import FILE [REF]           make an image of a root filesystem tarball
  save [-o FILE] IMAGE...     write images as an OCI layout tar (stdout without -o)
  tag SOURCE TARGET           name an image
  inspect [--type image|container] NAME...   details as JSON
Networks:
  network create [--subnet CIDR] [--gateway IP] [--internal] [-l K=V] NAME | ls [-q] [--filter] [--format]
          | inspect [-f] NAME... | rm NAME... | prune [--filter]
                              user-defined bridge networks: run --network NAME [--network-alias A]; members find each other by name
Volumes:
  volume create NAME | ls [-q] [--format json] | inspect NAME... | rm NAME... | prune
                              named volumes (also made by run -v NAME:/path)
Containers:
  run [flags] IMAGE [COMMAND [ARG...]]   (--rm -d -i -t --name -e --env-file -v --tmpfs -w -u --entrypoint
                               --memory --cpus --pids-limit --read-only --cap-add --cap-drop
                               --security-opt seccomp=FILE|unconfined|no-new-privileges
                               --network none|host|bridge|NAME --network-alias -p [[IP:][HOSTPORT[-END]]:]PORT[-END][/PROTO] -P --hostname
                               --pull always|missing|never --tls-verify
                               --restart no|on-failure[:N]|always|unless-stopped (with -d)
                               --health-cmd --health-interval --health-timeout --health-retries --health-start-period
                               --init [--init-path PATH] --no-healthcheck --privileged --cgroupns private|host --ulimit T=S[:H] --sysctl K=V -l/--label K=V --shm-size --stop-signal --stop-timeout
                               --device HOST[:CTR[:rwm]] --group-add --cpu-shares --cpuset-cpus --cpuset-mems
                               --memory-swap --memory-reservation --add-host NAME:IP --dns --dns-search --dns-option)
  create [run's flags] IMAGE [COMMAND [ARG...]]   a container that waits for start
  ps [-a] [-q] [--format json] list containers
  logs [-f] [-t] [--tail N] [--since T] [--until T] CONTAINER   a container's output (stdout, stderr)
  exec [-i] [-t] [-d] [-e K=V] [-u USER] [-w DIR] CONTAINER COMMAND...
  stop [-t SECONDS] CONTAINER...   stop signal, then SIGKILL
  start [-a] CONTAINER...     start created containers, or run exited ones again (same rootfs and options; -a: in the foreground)
  start --all [--filter restart-policy=P]...   every exited container (with those policies): for a boot-time unit
  restart [-t SECONDS] CONTAINER...   stop, then start
  pause CONTAINER... / unpause CONTAINER...   freeze and thaw through the cgroup
  kill [-s SIGNAL] CONTAINER...    send a signal (default SIGKILL)
  rm [-f] [-v] CONTAINER...   remove containers (-v: and their anonymous volumes)
  stats [--no-stream] [CONTAINER...]   CPU, memory and pids from the cgroups
  top CONTAINER               the container's processes (every process of its cgroup)
  wait CONTAINER...           wait until each has exited; print its exit code
  healthcheck run CONTAINER   run the container's health check once (exit 0: healthy)
  port CONTAINER [PORT[/PROTO]]   the published ports
  cp [-a] [-L] SRC DEST       copy files between a container and the host (CONTAINER:PATH on one side)
  rename CONTAINER NEW_NAME   give a container a new name
  update [--memory M] [--cpus N] [--pids-limit N] [--restart P] ... CONTAINER...   new limits (a running container's at once)
  diff CONTAINER              what the container changed (A added, C changed, D deleted)
  commit [-c CHANGE] [-m MSG] [-a AUTHOR] CONTAINER [REPOSITORY[:TAG]]   an image of the container's changes
  history IMAGE               the image's layers and the steps that made them
  version, info               berth's version, the engine's state (--format TEMPLATE)
Clean-up:
  container prune             remove every exited container
  image prune [-a]            remove unused blobs and layers (-a: and every image no container uses)
  system prune [-a] [--volumes]   both (--volumes: and unused volumes)
`;
