package sanarip;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import com.carrotsearch.randomizedtesting.RandomizedRunner;
import com.carrotsearch.randomizedtesting.annotations.ThreadLeakScope;
import com.carrotsearch.randomizedtesting.annotations.Timeout;
import com.carrotsearch.randomizedtesting.annotations.TimeoutSuite;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.node.MockNode;
import org.elasticsearch.node.Node;
import org.elasticsearch.plugins.Plugin;
import org.elasticsearch.transport.netty4.Netty4Plugin;
import org.junit.Test;
import org.junit.runner.JUnitCore;
import org.junit.runner.RunWith;

/**
 * Starts one real Elasticsearch node (the server jar plus the Netty4 HTTP module) on
 * 127.0.0.1 at a free port, prints its URL, and stops when its stdin closes.
 *
 * The test framework's MockNode loads plugins from the classpath; it expects to run inside a
 * RandomizedRunner context, so the node runs as the single "test" of this class.
 */
@RunWith(RandomizedRunner.class)
@ThreadLeakScope(ThreadLeakScope.Scope.NONE)
@TimeoutSuite(millis = 7 * 24 * 3600 * 1000)
public class Launcher {
    public static void main(String[] args) {
        System.exit(JUnitCore.runClasses(Launcher.class).wasSuccessful() ? 0 : 1);
    }

    private static int freePort() throws Exception {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }

    @Test
    @Timeout(millis = 7 * 24 * 3600 * 1000)
    public void runNode() throws Exception {
        String given = System.getProperty("sanarip.es.home", "");
        Path home = given.isEmpty() ? Files.createTempDirectory("sanarip-es-") : Path.of(given);
        int httpPort = freePort();
        Settings settings = Settings.builder()
            .put("cluster.name", "sanarip-test")
            .put("node.name", "sanarip-test-node")
            .put("path.home", home.toString())
            .put("path.data", home.resolve("data").toString())
            .put("path.logs", home.resolve("logs").toString())
            .put("network.host", "127.0.0.1")
            .put("http.port", httpPort)
            .put("transport.port", freePort())
            .put("http.type", "netty4")
            .put("transport.type", "netty4")
            .put("discovery.type", "single-node")
            .put("cluster.routing.allocation.disk.threshold_enabled", false)
            .build();
        List<Class<? extends Plugin>> plugins = List.of(Netty4Plugin.class);
        try (Node node = new MockNode(settings, plugins)) {
            node.start();
            System.out.println("SANARIP_ES_URL=http://127.0.0.1:" + httpPort);
            System.out.flush();
            while (System.in.read() != -1) {
                // run until the harness closes our stdin
            }
        }
    }
}
