// The dashboard's pages, scripts and stylesheet (src/dashboard/web/), compiled into the binary
// at build time (cmake/embed_files.cmake): a cluster that is offline serves them all the same.
#pragma once

#include <string_view>

namespace orrery::dashboard {

struct Asset {
  std::string_view path;  // "/overview.html", "/static/dashboard.js"
  std::string_view content_type;
  std::string_view bytes;
};

// The file at `path` under web/ ("/static/table.js"), or null.
const Asset* FindAsset(std::string_view path);

}  // namespace orrery::dashboard
