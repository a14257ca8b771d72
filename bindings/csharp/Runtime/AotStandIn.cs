// Outside Unity there is no AOT.MonoPInvokeCallbackAttribute; this stand-in lets the same sources
// compile under plain Mono or .NET. Unity (5.3 and later) defines the real one, which IL2CPP needs
// to generate the reverse-P/Invoke wrappers for the static callback trampolines. Internal, so it never
// clashes with another library's stand-in.
#if !UNITY_5_3_OR_NEWER
namespace AOT
{
    using System;

    /// <summary>Marks a static method that native code calls through a function pointer.</summary>
    [AttributeUsage(AttributeTargets.Method)]
    internal sealed class MonoPInvokeCallbackAttribute : Attribute
    {
        /// <summary>The delegate type the native code calls the method as.</summary>
        public Type DelegateType { get; private set; }

        /// <param name="delegateType">The delegate type the native code calls the method as.</param>
        public MonoPInvokeCallbackAttribute(Type delegateType)
        {
            DelegateType = delegateType;
        }
    }
}
#endif
