// What aws-local-stepfunctions 3 uses from Node 22 that Node 20 lacks: Promise.withResolvers
// (ES2024). Loaded before it, only where missing.
if (typeof Promise.withResolvers !== "function") {
  Promise.withResolvers = function withResolvers() {
    let resolve;
    let reject;
    const promise = new this((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
}
