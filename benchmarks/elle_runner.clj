;; Our runner for benchmarks/bench_elle.py (not Elle's code): checks rw-register histories written by
;; `pbs-sim export RESULTS_DIR --elle` with elle.rw-register/check and prints one JSON line a file.
;;
;;   java -Djava.awt.headless=true -cp ELLE_CLASSPATH clojure.main benchmarks/elle_runner.clj \
;;        '{:consistency-models [:strict-serializable] :linearizable-keys? true}' WARMUP.edn HISTORY.edn ...
;;
;; The first argument is the options map passed to elle.rw-register/check (EDN); each further file is
;; read (one op map a line), made a jepsen.history history and checked, in order, in this one JVM, so
;; the files after the first run on a warmed-up JIT. Per file it prints
;; {"file", "events", "parse_s", "check_wall_s", "check_cpu_s", "valid", "anomalies": {type: count}}
;; where check_cpu_s is the whole process's CPU time (every thread, GC and JIT included) spent
;; during the check, and "anomalies" counts Elle's cases per anomaly type.
(require '[clojure.edn :as edn]
         '[clojure.java.io :as io]
         '[jepsen.history :as h]
         '[elle.rw-register :as rw])

(import '(java.lang.management ManagementFactory))

(defn cpu-ns []
  (.getProcessCpuTime ^com.sun.management.OperatingSystemMXBean
                      (ManagementFactory/getOperatingSystemMXBean)))

(defn read-ops [file]
  (with-open [r (io/reader file)]
    (into [] (comp (remove clojure.string/blank?) (map edn/read-string)) (line-seq r))))

(defn json-str [s] (str "\"" (-> (str s) (.replace "\\" "\\\\") (.replace "\"" "\\\"")) "\""))

(defn anomaly-name [k] (if (keyword? k) (subs (str k) 1) (str k)))

(defn check-file [opts file]
  (let [t0     (System/nanoTime)
        ops    (read-ops file)
        hist   (h/history ops {:dense-indices? true})
        t1     (System/nanoTime)
        c1     (cpu-ns)
        result (rw/check opts hist)
        t2     (System/nanoTime)
        c2     (cpu-ns)
        counts (into (sorted-map)
                     (map (fn [[k v]] [(anomaly-name k) (if (coll? v) (count v) 1)]))
                     (:anomalies result))]
    (println
      (str "{\"file\": " (json-str file)
           ", \"events\": " (count ops)
           ", \"parse_s\": " (/ (- t1 t0) 1e9)
           ", \"check_wall_s\": " (/ (- t2 t1) 1e9)
           ", \"check_cpu_s\": " (/ (- c2 c1) 1e9)
           ", \"valid\": " (json-str (:valid? result))
           ", \"anomalies\": {"
           (clojure.string/join ", " (map (fn [[k n]] (str (json-str k) ": " n)) counts))
           "}}"))
    (flush)))

(let [[opts-edn & files] *command-line-args*
      opts (edn/read-string opts-edn)]
  (doseq [f files] (check-file opts f))
  (shutdown-agents)
  (System/exit 0))
