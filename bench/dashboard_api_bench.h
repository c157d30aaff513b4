// How long the dashboard's JSON API takes to answer what its pages read, on a real GCS holding
// 10,000 tasks (issue 25: no page over 200 ms with 10,000 tasks). bench/dashboard_render.py times
// the pages in a browser with their answers at hand; this is the time the real answers add.
#pragma once

#include "grpc_floor.h"

namespace orrery::bench {

// On a single-node cluster (2 CPUs, TLS on) that has run 10,000 tasks, 1,000 of them failed,
// once their events are all in the GCS: each read below 5 times in turn, each over a new HTTPS
// connection with the token as a script sends it; per read the median and the largest answer
// time, ms, and its bytes:
//   dashboard_api_tasks_failed_{p50,max}_ms   /api/v0/tasks?state=FAILED&limit=1000 (tasks page)
//   dashboard_api_task_summary_{p50,max}_ms   /api/v0/tasks/summary (tasks page)
//   dashboard_api_timeline_{p50,max}_ms       /api/v0/timeline (timeline page)
//   dashboard_api_actors_{p50,max}_ms         /api/v0/actors
//   dashboard_api_nodes_{p50,max}_ms          /api/v0/nodes (overview)
//   dashboard_api_objects_{p50,max}_ms        /api/v0/objects?limit=1000
// and the floor, a read that asks the GCS nothing (/api/v0/cluster): the connection, TLS and
// HTTP: dashboard_api_floor_{p50,max}_ms.
void MeasureDashboardApi(const Reporter& report);

}  // namespace orrery::bench
