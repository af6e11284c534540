// vk_stream (session 8 experiment, not part of the build): Vulkan streams `size`-byte batches
// from three host-visible buffers into one device-local buffer with vkCmdCopyBuffer on a
// transfer-only queue (NVIDIA's copy engines), while N CPU threads write the next batch with
// streaming stores, as the upload bench's pipeline does. Question: do the copy engines keep
// their rate beside the writers (as CUDA's do) when reached through Vulkan?
#include <immintrin.h>
#include <vulkan/vulkan.h>

#include <barrier>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#define CK(x)                                               \
  do {                                                      \
    VkResult r_ = (x);                                      \
    if (r_ != VK_SUCCESS) {                                 \
      std::fprintf(stderr, "%s failed: %d\n", #x, (int)r_); \
      std::exit(1);                                         \
    }                                                       \
  } while (0)

struct pool {
  int n;
  std::function<void(int)> job;
  std::barrier<> start, done;
  std::vector<std::jthread> threads;
  bool stop = false;
  explicit pool(int count) : n(count), start(count + 1), done(count + 1) {
    for (int i = 0; i < n; ++i)
      threads.emplace_back([this, i] {
        for (;;) {
          start.arrive_and_wait();
          if (stop) return;
          job(i);
          done.arrive_and_wait();
        }
      });
  }
  void run(std::function<void(int)> j) {
    job = std::move(j);
    start.arrive_and_wait();
    done.arrive_and_wait();
  }
  ~pool() {
    stop = true;
    start.arrive_and_wait();
  }
};

static bool plain_stores = false;
static void write_part(std::uint32_t* words, std::size_t first, std::size_t last, std::uint32_t seed) {
  std::size_t i = first;
  for (; i + 8 <= last; i += 8) {
    const __m256i v = _mm256_add_epi32(_mm256_set1_epi32((int)(seed + i)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    if (plain_stores) {
      _mm256_store_si256(reinterpret_cast<__m256i*>(words + i), v);
    } else {
      _mm256_stream_si256(reinterpret_cast<__m256i*>(words + i), v);
    }
  }
  for (; i < last; ++i) words[i] = seed + (std::uint32_t)i;
  _mm_sfence();
}

int main(int argc, char** argv) {
  const std::size_t size = std::size_t{64} << 20;
  const int iterations = 30, ring = 3;
  const int writers = argc > 1 ? std::atoi(argv[1]) : 0;
  const bool cached = argc > 2 && std::string(argv[2]) == "cached";
  plain_stores = argc > 3 && std::string(argv[3]) == "plain";
  VkApplicationInfo app{VK_STRUCTURE_TYPE_APPLICATION_INFO};
  app.apiVersion = VK_API_VERSION_1_1;
  VkInstanceCreateInfo ici{VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO};
  ici.pApplicationInfo = &app;
  VkInstance instance;
  CK(vkCreateInstance(&ici, nullptr, &instance));
  std::uint32_t count = 0;
  vkEnumeratePhysicalDevices(instance, &count, nullptr);
  std::vector<VkPhysicalDevice> gpus(count);
  vkEnumeratePhysicalDevices(instance, &count, gpus.data());
  VkPhysicalDevice gpu = gpus.at(0);
  VkPhysicalDeviceProperties props;
  vkGetPhysicalDeviceProperties(gpu, &props);
  vkGetPhysicalDeviceQueueFamilyProperties(gpu, &count, nullptr);
  std::vector<VkQueueFamilyProperties> families(count);
  vkGetPhysicalDeviceQueueFamilyProperties(gpu, &count, families.data());
  int family = -1;
  for (std::uint32_t i = 0; i < count; ++i) {
    const auto f = families[i].queueFlags;
    if ((f & VK_QUEUE_TRANSFER_BIT) && !(f & (VK_QUEUE_GRAPHICS_BIT | VK_QUEUE_COMPUTE_BIT))) family = (int)i;
  }
  if (family < 0) family = 0;
  float priority = 1;
  VkDeviceQueueCreateInfo qci{VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO};
  qci.queueFamilyIndex = (std::uint32_t)family;
  qci.queueCount = 1;
  qci.pQueuePriorities = &priority;
  VkDeviceCreateInfo dci{VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO};
  dci.queueCreateInfoCount = 1;
  dci.pQueueCreateInfos = &qci;
  VkDevice device;
  CK(vkCreateDevice(gpu, &dci, nullptr, &device));
  VkQueue queue;
  vkGetDeviceQueue(device, (std::uint32_t)family, 0, &queue);
  VkPhysicalDeviceMemoryProperties mem;
  vkGetPhysicalDeviceMemoryProperties(gpu, &mem);
  auto type_of = [&](std::uint32_t bits, VkMemoryPropertyFlags want, VkMemoryPropertyFlags avoid) {
    for (std::uint32_t i = 0; i < mem.memoryTypeCount; ++i)
      if ((bits & (1u << i)) && (mem.memoryTypes[i].propertyFlags & want) == want &&
          !(mem.memoryTypes[i].propertyFlags & avoid))
        return (int)i;
    return -1;
  };
  auto make = [&](VkBufferUsageFlags usage, VkMemoryPropertyFlags want, VkMemoryPropertyFlags avoid, VkBuffer& buf,
                  VkDeviceMemory& m) {
    VkBufferCreateInfo bci{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
    bci.size = size;
    bci.usage = usage;
    CK(vkCreateBuffer(device, &bci, nullptr, &buf));
    VkMemoryRequirements req;
    vkGetBufferMemoryRequirements(device, buf, &req);
    int t = type_of(req.memoryTypeBits, want, avoid);
    if (t < 0) t = type_of(req.memoryTypeBits, want, 0);
    VkMemoryAllocateInfo mai{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
    mai.allocationSize = req.size;
    mai.memoryTypeIndex = (std::uint32_t)t;
    CK(vkAllocateMemory(device, &mai, nullptr, &m));
    CK(vkBindBufferMemory(device, buf, m, 0));
    return t;
  };
  const VkMemoryPropertyFlags host = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT |
                                     (cached ? VK_MEMORY_PROPERTY_HOST_CACHED_BIT : 0);
  std::vector<VkBuffer> src(ring);
  std::vector<VkDeviceMemory> src_mem(ring);
  std::vector<std::uint32_t*> words(ring);
  int host_type = -1;
  for (int b = 0; b < ring; ++b) {
    host_type = make(VK_BUFFER_USAGE_TRANSFER_SRC_BIT, host, cached ? 0 : VK_MEMORY_PROPERTY_HOST_CACHED_BIT, src[b],
                     src_mem[b]);
    CK(vkMapMemory(device, src_mem[b], 0, size, 0, reinterpret_cast<void**>(&words[b])));
    std::memset(words[b], 0, size);
  }
  VkBuffer dst, back;
  VkDeviceMemory dst_mem, back_mem;
  make(VK_BUFFER_USAGE_TRANSFER_DST_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT, 0, dst,
       dst_mem);
  make(VK_BUFFER_USAGE_TRANSFER_DST_BIT, host | VK_MEMORY_PROPERTY_HOST_CACHED_BIT, 0, back, back_mem);
  VkCommandPoolCreateInfo pci{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
  pci.queueFamilyIndex = (std::uint32_t)family;
  VkCommandPool cpool;
  CK(vkCreateCommandPool(device, &pci, nullptr, &cpool));
  std::vector<VkCommandBuffer> cmd(ring + 1);
  VkCommandBufferAllocateInfo cai{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
  cai.commandPool = cpool;
  cai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
  cai.commandBufferCount = ring + 1;
  CK(vkAllocateCommandBuffers(device, &cai, cmd.data()));
  VkBufferCopy region{0, 0, size};
  for (int b = 0; b <= ring; ++b) {
    VkCommandBufferBeginInfo bi{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
    CK(vkBeginCommandBuffer(cmd[b], &bi));
    if (b < ring) {
      vkCmdCopyBuffer(cmd[b], src[b], dst, 1, &region);
    } else {
      vkCmdCopyBuffer(cmd[b], dst, back, 1, &region);
    }
    CK(vkEndCommandBuffer(cmd[b]));
  }
  std::vector<VkFence> fences(ring);
  for (auto& f : fences) {
    VkFenceCreateInfo fci{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    fci.flags = VK_FENCE_CREATE_SIGNALED_BIT;
    CK(vkCreateFence(device, &fci, nullptr, &f));
  }
  pool threads(writers > 0 ? writers : 1);
  const std::size_t n = size / 4;
  auto write = [&](int b, std::uint32_t seed) {
    if (writers == 0) return;
    threads.run([&](int part) {
      const std::size_t per = (n / writers + 7) / 8 * 8;
      const std::size_t first = std::min(n, per * part), last = part == writers - 1 ? n : std::min(n, first + per);
      write_part(words[b], first, last, seed);
    });
  };
  auto step = [&](int i) {
    const int b = i % ring;
    CK(vkWaitForFences(device, 1, &fences[b], VK_TRUE, UINT64_MAX));
    CK(vkResetFences(device, 1, &fences[b]));
    write(b, (std::uint32_t)i * 2654435761u);
    VkSubmitInfo si{VK_STRUCTURE_TYPE_SUBMIT_INFO};
    si.commandBufferCount = 1;
    si.pCommandBuffers = &cmd[b];
    CK(vkQueueSubmit(queue, 1, &si, fences[b]));
  };
  for (int i = 0; i < ring; ++i) step(i);
  CK(vkQueueWaitIdle(queue));
  // The writers alone, for the table.
  const auto w0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 5; ++i) write(0, 0);
  const double write_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - w0).count() / 5;
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = ring; i < ring + iterations; ++i) step(i);
  CK(vkQueueWaitIdle(queue));
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  // The device buffer holds the last batch: read it back and check its words.
  VkSubmitInfo si{VK_STRUCTURE_TYPE_SUBMIT_INFO};
  si.commandBufferCount = 1;
  si.pCommandBuffers = &cmd[ring];
  CK(vkQueueSubmit(queue, 1, &si, VK_NULL_HANDLE));
  CK(vkQueueWaitIdle(queue));
  std::uint32_t* got;
  CK(vkMapMemory(device, back_mem, 0, size, 0, reinterpret_cast<void**>(&got)));
  const std::uint32_t seed = (std::uint32_t)(ring + iterations - 1) * 2654435761u;
  std::size_t bad = 0;
  if (writers > 0)
    for (std::size_t i = 0; i < n; i += 4099) bad += got[i] != seed + (std::uint32_t)i;
  std::printf(
      "%s, queue family %d (flags 0x%x), host memory type %d (flags 0x%x): writers %d, write alone %.1f GB/s, "
      "pipeline %.2f GB/s, mismatches %zu%s\n",
      props.deviceName, family, families[family].queueFlags, host_type, mem.memoryTypes[host_type].propertyFlags,
      writers, writers ? size / write_s / 1e9 : 0.0, size * (double)iterations / s / 1e9, bad,
      plain_stores ? " (plain stores)" : " (streaming stores)");
  return bad == 0 ? 0 : 1;
}
