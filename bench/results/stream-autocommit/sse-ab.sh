#!/bin/bash
# usage: sse-ab.sh rounds jarA jarB — an auto-commit v2 instance draining topic pd as an event stream
cd /tmp/pb
U=http://127.0.0.1:18100
for r in $(seq 1 $1); do
  for jar in $2 $3; do
    pkill -f p.properties; sleep 2
    (java -Xmx512m -XX:+UseParallelGC -jar $jar /tmp/pb/p.properties > /tmp/pb/portico-sse.log 2>&1 &)
    for i in $(seq 1 60); do curl -s -o /dev/null $U/ && break; sleep 1; done
    P=$(pgrep -f p.properties | head -1)
    for n in warm$r measured$r; do
      g=ab-$n-$(basename $jar .jar)-$RANDOM
      curl -s -X POST -H "Content-Type: application/vnd.kafka.v2+json" --data "{\"name\":\"$n\",\"format\":\"binary\",\"auto.offset.reset\":\"earliest\",\"auto.commit.enable\":\"true\"}" $U/consumers/$g > /dev/null
      curl -s -X POST -H "Content-Type: application/vnd.kafka.v2+json" --data '{"topics":["pd"]}' $U/consumers/$g/instances/$n/subscription
      t0=$(awk '{print $14+$15}' /proc/$P/stat); s0=$(date +%s.%N)
      got=$(timeout 60 curl -s -N -H "Accept: text/event-stream" $U/consumers/$g/instances/$n/records | awk '/^id:/{n++; if (n==7700000) {exit}} END{print n}')
      s1=$(date +%s.%N); t1=$(awk '{print $14+$15}' /proc/$P/stat)
      [ "${n#warm}" != "$n" ] && continue
      echo "$r $(basename $jar) records=$got secs=$(python3 -c "print(round($s1-$s0,2))") records_per_s=$(python3 -c "print(round($got/($s1-$s0)))") portico_cpu_us_per_record=$(python3 -c "print(round(($t1-$t0)*10000/$got,3))")"
    done
  done
done
pkill -f p.properties
