// The deployment files in deploy/: the systemd unit and the Kubernetes manifests must run the
// same `arbor serve` command line, find the deployment file and the certificates where they
// mount them, and agree with each other on names. The commands are read from the files (not
// copied here), and the pod's shell line is expanded by the real /bin/sh.
#include "deploy_files.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace arbor::testing {
namespace {

namespace fs = std::filesystem;

const std::string kDeploy = std::string(ARBOR_SOURCE_DIR) + "/deploy";
const std::string kUnit = kDeploy + "/systemd/arbor-node@.service";
const std::string kStatefulSet = kDeploy + "/k8s/statefulset.yaml";

YAML::Node LoadK8s(const std::string& name) {
  return YAML::LoadFile(kDeploy + "/k8s/" + name);
}

// The deployment file the ConfigMap carries, parsed.
YAML::Node EmbeddedDeployment() {
  return YAML::Load(LoadK8s("configmap.yaml")["data"]["deployment.yaml"].as<std::string>());
}

// The word after `flag` in `argv`, or "" when the flag is absent or last.
std::string ArgAfter(const std::vector<std::string>& argv, const std::string& flag) {
  auto it = std::find(argv.begin(), argv.end(), flag);
  return it == argv.end() || it + 1 == argv.end() ? "" : *(it + 1);
}

// `argv` without `flag` and the value after it.
std::vector<std::string> Without(std::vector<std::string> argv, const std::string& flag) {
  auto it = std::find(argv.begin(), argv.end(), flag);
  if (it != argv.end() && it + 1 != argv.end()) argv.erase(it, it + 2);
  return argv;
}

// What the StatefulSet's pod `pod_name` executes once its shell has expanded the command.
std::vector<std::string> PodArgv(const std::string& pod_name) {
  std::vector<std::string> command = K8sContainerCommand(kStatefulSet);
  REQUIRE(command.size() == 3);
  CHECK(command[0] == "/bin/sh");
  CHECK(command[1] == "-c");
  return ExecScriptArgv(command[2], {{"HOSTNAME", pod_name}});
}

bool UnderDirectory(const std::string& path, const std::string& dir) {
  return path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 &&
         path[dir.size()] == '/';
}

// The container's volumeMount that holds `path` (mounted at it, or at a directory above it).
YAML::Node MountHolding(const YAML::Node& container, const std::string& path) {
  for (const YAML::Node& m : container["volumeMounts"]) {
    std::string at = m["mountPath"].as<std::string>();
    if (at == path || UnderDirectory(path, at)) return m;
  }
  FAIL("nothing is mounted at " << path);
  return {};
}

YAML::Node Volume(const YAML::Node& pod_spec, const std::string& name) {
  for (const YAML::Node& v : pod_spec["volumes"]) {
    if (v["name"].as<std::string>() == name) return v;
  }
  FAIL("no volume named " << name);
  return {};
}

// The ConfigMap key a pod sees at `path` through `mount` of a configMap volume.
std::string ConfigMapKeyAt(const YAML::Node& mount, const std::string& path) {
  if (mount["subPath"]) {
    CHECK(mount["mountPath"].as<std::string>() == path);
    return mount["subPath"].as<std::string>();
  }
  return path.substr(mount["mountPath"].as<std::string>().size() + 1);
}

// The pod finds the deployment file at `config_path` (from the ConfigMap) and every TLS file
// the deployment names in the Secret arbor-tls, read-only and readable by its owner only.
void CheckPodMounts(const YAML::Node& pod_spec, const std::string& config_path) {
  INFO("config " << config_path);
  const YAML::Node container = pod_spec["containers"][0];
  YAML::Node config_mount = MountHolding(container, config_path);
  YAML::Node config_volume = Volume(pod_spec, config_mount["name"].as<std::string>());
  YAML::Node configmap = LoadK8s("configmap.yaml");
  REQUIRE(config_volume["configMap"]);
  CHECK(config_volume["configMap"]["name"].as<std::string>() ==
        configmap["metadata"]["name"].as<std::string>());
  CHECK(configmap["data"][ConfigMapKeyAt(config_mount, config_path)]);

  for (const auto& file : EmbeddedDeployment()["transport"]["tls"]) {
    std::string path = file.second.as<std::string>();
    INFO("tls " << file.first.as<std::string>() << ": " << path);
    YAML::Node mount = MountHolding(container, path);
    CHECK(mount["readOnly"].as<bool>(false));
    YAML::Node secret = Volume(pod_spec, mount["name"].as<std::string>())["secret"];
    REQUIRE(secret);
    CHECK(secret["secretName"].as<std::string>() == "arbor-tls");
    CHECK(secret["defaultMode"].as<int>() == 0400);  // yaml-cpp reads 0400 as octal, as kubectl
  }
}

// A file in a fresh temporary directory holding `text`; the directory goes with the object.
class TempFile {
 public:
  explicit TempFile(const std::string& text) {
    dir_ = fs::temp_directory_path() / ("arbor-deploy-" + std::to_string(std::random_device{}()));
    fs::create_directories(dir_);
    std::ofstream(Path()) << text;
  }
  ~TempFile() { fs::remove_all(dir_); }
  std::string Path() const { return (dir_ / "unit.service").string(); }

 private:
  fs::path dir_;
};

TEST_CASE("deploy_files: the systemd unit runs arbor serve for the node its instance names") {
  UnitFile unit = ReadUnitFile(kUnit);
  for (const char* section : {"Unit", "Service", "Install"}) {
    INFO(section);
    CHECK(unit.sections.count(section) == 1);
  }
  std::string exec_start = SystemdExecStart(kUnit);
  std::vector<std::string> argv = InstanceCommand(exec_start, 7);
  INFO(exec_start);
  REQUIRE(argv.size() == 6);
  CHECK(argv[0].front() == '/');
  CHECK(fs::path(argv[0]).filename() == "arbor");
  CHECK(argv[1] == "serve");
  CHECK(argv[2] == "--config");
  CHECK(fs::path(argv[3]).is_absolute());
  CHECK(argv[4] == "--id");
  CHECK(argv[5] == "7");
  CHECK(InstanceCommand(exec_start, 42)[5] == "42");  // the id comes from %i, not the file

  CHECK(unit.Values("Service", "Restart") == std::vector<std::string>{"always"});
  CHECK(unit.Values("Service", "User") == std::vector<std::string>{"arbor"});
  CHECK(unit.Values("Service", "StateDirectory") == std::vector<std::string>{"arbor"});
  CHECK(unit.Values("Service", "NoNewPrivileges") == std::vector<std::string>{"yes"});
  CHECK(unit.Values("Service", "ProtectSystem") == std::vector<std::string>{"strict"});
}

TEST_CASE("deploy_files: the unit readers refuse what they cannot read faithfully") {
  TempFile none("[Service]\nUser=arbor\n");
  CHECK_THROWS_AS(SystemdExecStart(none.Path()), std::runtime_error);
  TempFile twice("[Service]\nExecStart=/bin/a\nExecStart=/bin/b\n");
  CHECK_THROWS_AS(SystemdExecStart(twice.Path()), std::runtime_error);
  TempFile reset("[Service]\nExecStart=/bin/a\nExecStart=\nExecStart=/bin/b \\\n  --x %i\n");
  CHECK(SystemdExecStart(reset.Path()) == "/bin/b  --x %i");
  TempFile elsewhere("[Unit]\nExecStart=/bin/a\n");
  CHECK_THROWS_AS(SystemdExecStart(elsewhere.Path()), std::runtime_error);
  CHECK_THROWS_AS(SystemdExecStart("/nonexistent/arbor.service"), std::runtime_error);

  CHECK(InstanceCommand("/bin/a --id %i --p 100%%", 3) ==
        std::vector<std::string>{"/bin/a", "--id", "3", "--p", "100%"});
  CHECK_THROWS_AS(InstanceCommand("/bin/a \"x y\"", 3), std::runtime_error);
  CHECK_THROWS_AS(InstanceCommand("/bin/a $HOME", 3), std::runtime_error);
  CHECK_THROWS_AS(InstanceCommand("/bin/a %n", 3), std::runtime_error);
  CHECK_THROWS_AS(InstanceCommand("-/bin/a", 3), std::runtime_error);
}

TEST_CASE("deploy_files: the systemd example deployment fits the unit") {
  YAML::Node d = YAML::LoadFile(kDeploy + "/systemd/deployment.yaml");
  CHECK(d["transport"]["endpoint"].as<std::string>().rfind("tls+tcp://", 0) == 0);
  CHECK(d["data_dir"].as<std::string>() ==
        "/var/lib/" + ReadUnitFile(kUnit).Values("Service", "StateDirectory").at(0));
  std::set<std::string> hosts;
  for (const YAML::Node& h : d["hosts"]) {
    hosts.insert(h["name"].as<std::string>());
    CHECK(h["launch"].as<std::string>() == "external");
  }
  CHECK(hosts.size() == 3);
  for (const YAML::Node& n : d["nodes"]) CHECK(hosts.count(n["host"].as<std::string>()) == 1);
  // The unit reads the file where the example says to install it.
  CHECK(ArgAfter(InstanceCommand(SystemdExecStart(kUnit), 1), "--config") ==
        "/etc/arbor/deployment.yaml");
}

TEST_CASE("deploy_files: each Kubernetes manifest is one object with apiVersion, kind, name") {
  int files = 0;
  for (const fs::directory_entry& e : fs::directory_iterator(kDeploy + "/k8s")) {
    if (e.path().extension() != ".yaml") continue;
    ++files;
    INFO(e.path());
    std::vector<YAML::Node> docs = YAML::LoadAllFromFile(e.path().string());
    REQUIRE(docs.size() == 1);
    CHECK(docs[0]["apiVersion"].IsScalar());
    CHECK(docs[0]["kind"].IsScalar());
    CHECK_FALSE(docs[0]["metadata"]["name"].as<std::string>("").empty());
  }
  CHECK(files >= 3);
}

TEST_CASE("deploy_files: the StatefulSet's pods are named by the headless Service") {
  YAML::Node service = LoadK8s("service.yaml");
  YAML::Node set = LoadK8s("statefulset.yaml");
  REQUIRE(service["kind"].as<std::string>() == "Service");
  REQUIRE(set["kind"].as<std::string>() == "StatefulSet");
  CHECK(set["spec"]["serviceName"].as<std::string>() ==
        service["metadata"]["name"].as<std::string>());
  CHECK(service["spec"]["clusterIP"].as<std::string>() == "None");
  YAML::Node pod_labels = set["spec"]["template"]["metadata"]["labels"];
  for (const auto& label : service["spec"]["selector"]) {
    INFO(label.first.as<std::string>());
    CHECK(pod_labels[label.first.as<std::string>()].as<std::string>("") ==
          label.second.as<std::string>());
  }
}

TEST_CASE("deploy_files: a pod runs the command of the systemd instance of its ordinal") {
  std::vector<std::string> pod = PodArgv("arbor-7");
  CHECK(ArgAfter(pod, "--host") == "arbor-7");
  CHECK(Without(pod, "--host") == InstanceCommand(SystemdExecStart(kUnit), 7));
}

TEST_CASE("deploy_files: pods mount the deployment and certificates where arbor reads them") {
  YAML::Node set = LoadK8s("statefulset.yaml");
  YAML::Node pod_spec = set["spec"]["template"]["spec"];
  CheckPodMounts(pod_spec, ArgAfter(PodArgv("arbor-0"), "--config"));

  // The node's data directory is the pod's claim, so it outlives the container.
  std::string data_dir = EmbeddedDeployment()["data_dir"].as<std::string>();
  YAML::Node data_mount = MountHolding(pod_spec["containers"][0], data_dir);
  CHECK(data_mount["mountPath"].as<std::string>() == data_dir);
  CHECK(set["spec"]["volumeClaimTemplates"][0]["metadata"]["name"].as<std::string>() ==
        data_mount["name"].as<std::string>());

  YAML::Node controller = LoadK8s("controller.yaml")["spec"];
  std::vector<std::string> command =
      controller["containers"][0]["command"].as<std::vector<std::string>>();
  CheckPodMounts(controller, ArgAfter(command, "--config"));
}

TEST_CASE("deploy_files: the ConfigMap's deployment has one host per pod, over tls+tcp") {
  YAML::Node d = EmbeddedDeployment();
  YAML::Node set = LoadK8s("statefulset.yaml");
  std::string service = set["spec"]["serviceName"].as<std::string>();
  CHECK(d["transport"]["endpoint"].as<std::string>() == "tls+tcp://{address}:{port}");
  CHECK(d["transport"]["port_base"].as<int>() == 7000);

  YAML::Node hosts = d["hosts"];
  REQUIRE(hosts.size() == set["spec"]["replicas"].as<std::size_t>());
  REQUIRE(hosts.size() == 3);
  std::string set_name = set["metadata"]["name"].as<std::string>();
  std::set<long long> ids;
  for (std::size_t i = 0; i < hosts.size(); ++i) {
    std::string pod = set_name + "-" + std::to_string(i);
    INFO(pod);
    CHECK(hosts[i]["name"].as<std::string>() == pod);
    CHECK(hosts[i]["address"].as<std::string>() ==
          pod + "." + service + ".default.svc.cluster.local");
    CHECK(hosts[i]["launch"].as<std::string>() == "external");
  }
  for (const YAML::Node& n : d["nodes"]) {
    long long id = n["id"].as<long long>();
    ids.insert(id);
    CHECK(n["host"].as<std::string>() == set_name + "-" + std::to_string(id));  // ordinal = id
  }
  CHECK(ids == std::set<long long>{0, 1, 2});
}

}  // namespace
}  // namespace arbor::testing
