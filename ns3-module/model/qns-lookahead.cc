/*
 * QnsLookahead - the topology's least delays to each guest's bridges.
 */
#include "qns-lookahead.h"

#include "qns-bridge.h"
#include "qns-next-event.h"

#include "ns3/channel.h"
#include "ns3/log.h"
#include "ns3/node-list.h"
#include "ns3/nstime.h"

#include <algorithm>
#include <functional>
#include <limits>
#include <queue>
#include <string>
#include <utility>

namespace ns3
{

NS_LOG_COMPONENT_DEFINE("QnsLookahead");

static const int64_t kNever = std::numeric_limits<int64_t>::max();

static int64_t Plus(int64_t a, int64_t b)
{
    return a >= kNever - b ? kNever : a + b;
}

/* dist[node]; no delay for a node added after Build. */
static int64_t At(const std::vector<int64_t> &dist, uint32_t node)
{
    return node < dist.size() ? dist[node] : 0;
}

/* The least time (ns) a frame spends between two devices of the channel:
 * the Delay of the channels that have one, else none. */
static int64_t ChannelDelayNs(Ptr<Channel> channel, bool &known)
{
    const std::string type = channel->GetInstanceTypeId().GetName();
    known = type == "ns3::PointToPointChannel" || type == "ns3::CsmaChannel";
    if (!known) {
        return 0;
    }
    TimeValue delay;
    channel->GetAttribute("Delay", delay);
    return std::max<int64_t>(0, delay.Get().GetNanoSeconds());
}

void QnsLookahead::Build(const std::vector<std::vector<Ptr<QnsBridge>>> &bridges)
{
    const uint32_t nodes = NodeList::GetNNodes();
    std::vector<std::vector<std::pair<uint32_t, int64_t>>> adj(nodes);
    for (uint32_t n = 0; n < nodes; n++) {
        Ptr<Node> node = NodeList::GetNode(n);
        for (uint32_t d = 0; d < node->GetNDevices(); d++) {
            Ptr<Channel> ch = node->GetDevice(d)->GetChannel();
            if (ch == nullptr) {
                continue;
            }
            bool known;
            int64_t w = ChannelDelayNs(ch, known);
            for (std::size_t k = 0; k < ch->GetNDevices(); k++) {
                Ptr<NetDevice> other = ch->GetDevice(k);
                uint32_t m = other && other->GetNode() ? other->GetNode()->GetId() : n;
                if (m != n && m < nodes) {
                    adj[n].emplace_back(m, w);
                }
            }
        }
    }
    m_ports.clear();
    m_dist.clear();
    m_portOf.clear();
    m_guests = bridges.size();
    for (std::size_t g = 0; g < bridges.size(); g++) {
        for (std::size_t k = 0; k < bridges[g].size(); k++) {
            Ptr<QnsBridge> b = bridges[g][k];
            if (b == nullptr || b->GetNode() == nullptr) {
                continue;
            }
            Port p;
            p.guest = static_cast<int>(g);
            p.nic = static_cast<int>(k);
            p.node = b->GetNode()->GetId();
            p.latencyNs = b->GetLatency().GetNanoSeconds();
            p.answers = b->AnswersGuest();
            p.backNs = 0;
            Ptr<NetDevice> dev = b->GetBridgedNetDevice();
            bool known = false;
            int64_t w = dev && dev->GetChannel() ? ChannelDelayNs(dev->GetChannel(), known) : 0;
            if (known && b->GetNode()->GetNApplications() == 0) {
                p.backNs = 2 * w;
            }
            m_portOf[PeekPointer(b)] = m_ports.size();
            m_ports.push_back(p);

            /* Dijkstra from the bridge's node (the delays are symmetric). */
            std::vector<int64_t> dist(nodes, kNever);
            using Item = std::pair<int64_t, uint32_t>;
            std::priority_queue<Item, std::vector<Item>, std::greater<Item>> todo;
            if (p.node < nodes) {
                dist[p.node] = 0;
                todo.emplace(0, p.node);
            }
            while (!todo.empty()) {
                auto [d, n] = todo.top();
                todo.pop();
                if (d > dist[n]) {
                    continue;
                }
                for (const auto &e : adj[n]) {
                    if (d + e.second < dist[e.first]) {
                        dist[e.first] = d + e.second;
                        todo.emplace(dist[e.first], e.first);
                    }
                }
            }
            m_dist.push_back(std::move(dist));
            NS_LOG_INFO("guest " << g << " nic " << k << ": bridge on node " << p.node
                                 << ", latency " << p.latencyNs << " ns"
                                 << (p.answers ? ", answers ARP" : "") << ", back through its link "
                                 << p.backNs << " ns");
        }
    }
}

int64_t QnsLookahead::Distance(uint32_t from, int guest, int nic) const
{
    for (std::size_t p = 0; p < m_ports.size(); p++) {
        if (m_ports[p].guest == guest && m_ports[p].nic == nic) {
            return from < m_dist[p].size() && m_dist[p][from] != kNever ? m_dist[p][from] : -1;
        }
    }
    return -1;
}

void QnsLookahead::Limits(const QnsNextEvent &events, const std::vector<int64_t> &sendNs,
                          std::vector<int64_t> &limitNs) const
{
    limitNs.assign(m_guests, kNever);
    for (std::size_t p = 0; p < m_ports.size(); p++) {
        const Port &port = m_ports[p];
        const std::vector<int64_t> &dist = m_dist[p];
        int64_t reach = kNever;
        events.ForEachContext([&](uint32_t context, uint64_t ts) {
            int64_t d = At(dist, context);
            reach = std::min(reach, Plus(static_cast<int64_t>(ts), d));
        });
        events.ForEachEntry([&](const QnsBridge *bridge, bool answered, uint64_t ts) {
            auto it = m_portOf.find(bridge);
            int64_t d = 0;
            if (it != m_portOf.end()) {
                std::size_t q = it->second;
                if (answered) {
                    d = q == p ? 0 : kNever; /* the bridge answers; nothing goes on */
                } else {
                    d = q == p ? port.backNs : At(dist, m_ports[q].node);
                }
            }
            reach = std::min(reach, Plus(static_cast<int64_t>(ts), d));
        });
        for (std::size_t q = 0; q < m_ports.size(); q++) {
            int64_t e = sendNs[static_cast<std::size_t>(m_ports[q].guest)];
            int64_t d = q == p ? (port.answers ? 0 : port.backNs) : At(dist, m_ports[q].node);
            reach = std::min(reach, Plus(Plus(e, m_ports[q].latencyNs), d));
        }
        int64_t &limit = limitNs[static_cast<std::size_t>(port.guest)];
        limit = std::min(limit, Plus(reach, port.latencyNs));
    }
}

} // namespace ns3
